import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the fake hub does: cut a file's body after n bytes (once), ignore Range; and the requests it saw. */
export interface FakeHubState {
  cutOnce: Map<string, number>;
  ignoreRange: boolean;
  requests: { url: string; range?: string }[];
}

/**
 * A local stand-in for the Hugging Face hub on 127.0.0.1 serving one repository `repo` at revision
 * main: the file listing API and `resolve` URLs with Range support.
 */
export async function startFakeHub(repo: string, files: Record<string, Buffer>): Promise<{ endpoint: string; state: FakeHubState; close(): void }> {
  const state: FakeHubState = { cutOnce: new Map(), ignoreRange: false, requests: [] };
  const http = createServer((req, res) => {
    const url = req.url ?? '';
    state.requests.push({ url, range: req.headers.range });
    if (url === `/api/models/${repo}/revision/main`) {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: repo, siblings: Object.keys(files).map((rfilename) => ({ rfilename })) }));
      return;
    }
    const prefix = `/${repo}/resolve/main/`;
    const name = url.startsWith(prefix) ? decodeURIComponent(url.slice(prefix.length)) : '';
    const body = files[name];
    if (!body) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !state.ignoreRange) {
      start = Number(range[1]);
      if (start >= body.byteLength) {
        res.statusCode = 416;
        res.end();
        return;
      }
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${start}-${body.byteLength - 1}/${body.byteLength}`);
    }
    res.setHeader('content-length', body.byteLength - start);
    const cut = state.cutOnce.get(name);
    if (cut !== undefined) {
      state.cutOnce.delete(name);
      res.write(body.subarray(start, start + cut), () => res.destroy());
      return;
    }
    res.end(body.subarray(start));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { endpoint: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, state, close: () => http.close() };
}
