// The playground page's script (bundled to dist/browser/playground.js): hands the model's files to
// the engine worker (fetched from the server for the embedded model, or read from a drop), sends
// prompts, streams the tokens into the page and redraws the shared heatmap views.
import type { HeatmapData } from '../inspect/heatmap-data.js';
import type { FromEngine, KvBytes, PageFile, ToEngine } from './messages.js';

/** What the page exposes to whoever drives it (the browser tests): the state of the last load and run. */
interface PlaygroundState {
  loaded: boolean;
  threads: number;
  runs: number;
  ids: number[];
  error?: string;
}

const w = window as unknown as { kvtrimPlayground: PlaygroundState; kvtrimHeatmap(data: HeatmapData): void };
const state: PlaygroundState = (w.kvtrimPlayground = { loaded: false, threads: 0, runs: 0, ids: [] });
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const engine = new Worker('/playground-worker.js', { type: 'module' });
const kernels = fetch('/kernels.wasm').then((r) => r.arrayBuffer());
const send = (m: ToEngine, transfer: Transferable[] = []) => engine.postMessage(m, transfer);
let generated: HTMLElement | undefined;

function status(text: string): void {
  $('status').textContent = text;
}

function bytes(n: number): string {
  return n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

async function load(name: string, files: PageFile[]): Promise<void> {
  state.loaded = false;
  $<HTMLButtonElement>('run').disabled = true;
  status(`Loading ${name}…`);
  const binary = (await kernels).slice(0);
  send({ type: 'load', name, files, kernels: binary }, [binary]);
}

async function loadEmbedded(): Promise<void> {
  const listing = (await (await fetch('/model/')).json()) as { name: string; files: string[] };
  const files = await Promise.all(
    listing.files.map(async (f) => ({ path: `${listing.name}/${f}`, file: await (await fetch(`/model/${encodeURIComponent(f)}`)).blob() })),
  );
  await load(listing.name, files);
}

/** Every file under a dropped entry, with its path inside the drop. */
async function entryFiles(entry: FileSystemEntry): Promise<PageFile[]> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    return [{ path: `drop${entry.fullPath}`, file }];
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: PageFile[] = [];
  // readEntries hands directories over in batches until an empty one
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    for (const e of batch) out.push(...(await entryFiles(e)));
  }
}

function pickedFiles(list: FileList): PageFile[] {
  return [...list].map((f) => ({ path: `drop/${f.webkitRelativePath || f.name}`, file: f }));
}

function onLoaded(m: Extract<FromEngine, { type: 'loaded' }>): void {
  state.loaded = true;
  state.threads = m.threads;
  status(`${m.name}: ${m.layers} layers, ${m.heads} query heads over ${m.kvHeads} KV heads.`);
  $('threads').dataset.threads = String(m.threads);
  $('threads').textContent = m.isolated
    ? `${m.threads} thread${m.threads === 1 ? '' : 's'}: the kernels run on WebAssembly workers sharing one memory (the page is cross-origin isolated).`
    : '1 thread: the page is not cross-origin isolated, so its workers cannot share memory and the kernels run on the engine thread alone.';
  const picks = $('picks');
  const select = $<HTMLSelectElement>('generate-with');
  if (picks.querySelector('input') === null)
    for (const p of m.presses) {
      const label = document.createElement('label');
      label.innerHTML = `<input type="checkbox" value="${p}" ${p === 'snapkv' || p === 'streamingllm' ? 'checked' : ''}> ${p}`;
      picks.appendChild(label);
      select.appendChild(new Option(p, p));
    }
  $<HTMLButtonElement>('run').disabled = false;
}

function kvTable(rows: { what: string; kv: KvBytes }[]): void {
  const t = $('kv');
  t.innerHTML = '<thead><tr><th>cache</th><th>kept</th><th>full</th><th>kept share</th></tr></thead>';
  const body = document.createElement('tbody');
  for (const { what, kv } of rows) {
    const tr = body.insertRow();
    for (const v of [what, bytes(kv.kept), bytes(kv.full), `${((100 * kv.kept) / kv.full).toFixed(1)} %`]) tr.insertCell().textContent = v;
  }
  t.appendChild(body);
}

let generation: { what: string; kv: KvBytes } | undefined;

engine.onmessage = (e: MessageEvent<FromEngine>) => {
  const m = e.data;
  switch (m.type) {
    case 'loaded':
      return onLoaded(m);
    case 'token':
      if (m.id >= 0) state.ids.push(m.id);
      generated!.textContent += m.text;
      return;
    case 'generated':
      generation = { what: `generation (${m.kv.press === 'none' ? 'full cache' : m.kv.press}), prompt + ${m.ids.length} tokens`, kv: m.kv };
      kvTable([generation]);
      status(`Generated ${m.ids.length} tokens (${(m.ids.length / Math.max(m.decodeMs / 1000, 1e-9)).toFixed(1)} tok/s); capturing attention…`);
      return;
    case 'inspected':
      kvTable([...(generation ? [generation] : []), ...m.kv.map((kv) => ({ what: `${kv.press} at ratio ${m.data.presses[0]?.ratio ?? ''}, prompt`, kv }))]);
      w.kvtrimHeatmap(m.data);
      state.runs++;
      status('Done.');
      $<HTMLButtonElement>('run').disabled = false;
      return;
    case 'error':
      state.error = m.message;
      status(`Error: ${m.message}`);
      $<HTMLButtonElement>('run').disabled = !state.loaded;
  }
};

$('run').addEventListener('click', () => {
  const prompt = $<HTMLTextAreaElement>('prompt').value;
  const out = $('output');
  out.textContent = prompt;
  generated = document.createElement('span');
  generated.className = 'gen';
  out.appendChild(generated);
  state.ids = [];
  state.error = undefined;
  generation = undefined;
  $<HTMLButtonElement>('run').disabled = true;
  status('Generating…');
  const separator = $<HTMLInputElement>('separator').value.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
  send({
    type: 'run',
    prompt,
    maxTokens: Number($<HTMLInputElement>('max-tokens').value),
    ratio: Number($<HTMLInputElement>('ratio').value),
    shotSeparator: $<HTMLInputElement>('shots').checked ? separator : undefined,
    presses: [...$('picks').querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value),
    generateWith: $<HTMLSelectElement>('generate-with').value || undefined,
  });
});

const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => x !== null);
  // files handed over without entries (a drop made by a script) are taken as they are
  const files = entries.length ? Promise.all(entries.map(entryFiles)).then((l) => l.flat()) : Promise.resolve(pickedFiles(e.dataTransfer?.files ?? new DataTransfer().files));
  const name = entries.length ? entries.map((x) => x.name).join(', ') : [...(e.dataTransfer?.files ?? [])].map((f) => f.name).join(', ');
  void files.then((list) => load(name, list)).catch((err: unknown) => status(`Error: ${err instanceof Error ? err.message : String(err)}`));
});
for (const id of ['pick-file', 'pick-folder'])
  $<HTMLInputElement>(id).addEventListener('change', (e) => {
    const list = (e.target as HTMLInputElement).files;
    if (list && list.length) void load(list[0]!.webkitRelativePath.split('/')[0] || list[0]!.name, pickedFiles(list));
  });

void loadEmbedded().catch((err: unknown) => status(`Error: ${err instanceof Error ? err.message : String(err)}`));
