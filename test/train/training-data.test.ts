import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BOS, decodeChars, encodeChars, EOS, VOCAB_SIZE } from '../../scripts/train-tiny/char-vocab.js';
import { drill } from '../../scripts/train-tiny/drills.js';
import { taskMix, trainingBatch, trainingDocument, type DataOptions } from '../../scripts/train-tiny/training-data.js';
import { COMMONSENSE_RULES } from '../../src/eval/tasks/commonsense.js';
import { exampleRng } from '../../src/eval/tasks/pick.js';
import { syntheticSuite } from '../../src/eval/tasks/registry.js';
import { promptOf } from '../../src/eval/tasks/task.js';

test('char vocabulary round-trips every generator text', () => {
  for (const t of syntheticSuite)
    for (const e of t.examples(1, 5)) {
      const text = promptOf(e) + e.answer;
      const ids = encodeChars(text);
      assert.ok(ids.every((id) => id > EOS && id < VOCAB_SIZE));
      assert.equal(decodeChars(ids), text);
    }
});

test('packed rows: whole documents, next-token targets within a document, block-causal attention blocks, deterministic by step', () => {
  const T = 600;
  const data = { copyShare: 1.5 };
  const b = trainingBatch(5, 17, 3, T, 0.5, data);
  assert.deepEqual(b, trainingBatch(5, 17, 3, T, 0.5, data));
  assert.notDeepEqual(b.ids, trainingBatch(5, 18, 3, T, 0.5, data).ids);
  let blockCount = 0;
  for (let r = 0; r < b.B; r++) {
    // Naive document boundaries: a document starts at each BOS and runs to its EOS target.
    let doc = -1;
    const docOf: number[] = [];
    let open = false;
    let drill = false;
    let answered = false;
    for (let t = 0; t < T; t++) {
      const id = b.ids[r * T + t]!;
      if (id === BOS) {
        doc++;
        open = true;
        drill = decodeChars([...b.ids.subarray(r * T + t + 1, r * T + t + 7)]) === 'Copy: ';
        answered = false;
      }
      docOf.push(open ? doc : -1 - t);
      if (open) {
        const next = t + 1 < T ? b.ids[r * T + t + 1] : undefined;
        if (b.targets[r * T + t] === EOS) open = false;
        else assert.equal(b.targets[r * T + t], next, `row ${r} t ${t}: target is the next character`);
        // A drill's random prompt has no weight up to its "A:"; every other document character has some.
        if (drill && !answered) answered = decodeChars([...b.ids.subarray(r * T + t - 1, r * T + t + 1)]) === 'A:';
        if (drill) assert.equal(b.weights[r * T + t], answered ? 1 : 0, `row ${r} t ${t}: drill weight`);
        else assert.ok(b.weights[r * T + t]! > 0);
      } else assert.equal(b.weights[r * T + t], 0, 'padding has no weight');
    }
    assert.ok(doc >= 0 && b.ids[r * T] === BOS);
    // The blocks tile the row; seen as one T × T mask they are exactly block-causal by document.
    const mask = new Float32Array(T * T).fill(-1e9);
    let at = 0;
    for (const blk of b.blocks[r]!) {
      assert.equal(blk.start, at);
      assert.equal(blk.mask.length, blk.length * blk.length);
      for (let i = 0; i < blk.length; i++) for (let j = 0; j < blk.length; j++) mask[(at + i) * T + at + j] = blk.mask[i * blk.length + j]!;
      at += blk.length;
    }
    assert.equal(at, T);
    blockCount += b.blocks[r]!.length;
    for (let i = 0; i < T; i++)
      for (let j = 0; j < T; j++) assert.equal(mask[i * T + j], j <= i && docOf[i] === docOf[j] ? 0 : -1e9, `row ${r} (${i}, ${j})`);
  }
  assert.ok(blockCount > b.B, 'short documents are grouped into several blocks per row');
});

test('the copying drill appears when it has a share, its answer repeats its prompt, and share 0 has none', () => {
  const T = 400;
  const text = (ids: Int32Array) => decodeChars([...ids].filter((id) => id > EOS));
  let drills = 0;
  for (let step = 0; step < 20; step++) {
    const b = trainingBatch(2, step, 2, T, 1, { copyShare: 1.5 });
    for (const m of text(b.ids).matchAll(/Copy: ([^\n]*)\nA: ([^\n]*)\n/g)) {
      assert.equal(m[2], m[1]);
      drills++;
    }
    const plain = text(trainingBatch(2, step, 2, T, 1, { copyShare: 0 }).ids);
    assert.ok(!plain.includes('Copy: '));
  }
  assert.ok(drills > 10, `${drills} drills`);
});

test('drills: lookup answers are the values of their keys, sum results are the arithmetic, random parts weigh 0, documents fit the row', () => {
  for (const T of [96, 400, 1152])
    for (let i = 0; i < 30; i++) {
      const rng = exampleRng('drill-test', T, i);
      const lookup = drill('lookup', rng, T);
      const text = lookup.map(([t]) => t).join('');
      assert.ok(text.length + 2 <= T + 1, `lookup of ${text.length} characters fits a row of ${T}`);
      const values = new Map([...text.matchAll(/^key (\d{3}) = (\d{4})\.$/gm)].map((m) => [m[1]!, m[2]!]));
      const answers = [...text.matchAll(/Q: What is key (\d{3})\?\nA: (\d{4})\n/g)];
      assert.ok(answers.length >= 1 && answers.length <= 8);
      for (const m of answers) assert.equal(m[2], values.get(m[1]!));
      for (const [t, w] of lookup) assert.equal(w, /^ \d{4}\n$/.test(t) ? 1 : 0, JSON.stringify(t));

      const sum = drill('sum', rng, T);
      const line = sum.map(([t]) => t).join('');
      const steps = [...line.matchAll(/(-?\d+)([+*-])(\d+)=(-?\d+)\./g)];
      assert.ok(line.startsWith('Sum: ') && line.endsWith('.\n') && steps.length >= 1, line);
      for (const [k, m] of steps.entries()) {
        const [a, b, c] = [Number(m[1]), Number(m[3]), Number(m[4])];
        assert.equal(c, m[2] === '+' ? a + b : m[2] === '-' ? a - b : a * b, line);
        if (k > 0) assert.equal(a, Number(steps[k - 1]![4]), 'each step starts from the previous result');
      }
      // Graded: results and their repetitions; never the random operands.
      for (const [t, w] of sum) assert.equal(w, /^(-?\d+\.| -?\d+|\n)$/.test(t) ? 1 : 0, JSON.stringify(t));

      // Short lists: 2 to 6 key lines, answers still the values of their keys.
      const short = drill('lookup', rng, T, { lookupMaxLines: 6 }).map(([t]) => t).join('');
      const shortLines = [...short.matchAll(/^key (\d{3}) = (\d{4})\.$/gm)];
      assert.ok(shortLines.length >= 2 && shortLines.length <= 6, `${shortLines.length} lines`);
      for (const m of short.matchAll(/Q: What is key (\d{3})\?\nA: (\d{4})\n/g)) assert.ok(shortLines.some((l) => l[1] === m[1] && l[2] === m[2]));

      // A short retrieval document: its graded answer is the needle its prompt holds.
      const [[prompt, pw], [answer, aw], ...rest] = drill('needle', rng, T);
      assert.deepEqual([pw, aw, rest.length], [0, 1, 0]);
      assert.ok(prompt!.length <= 256 + 80, `${prompt!.length} characters`);
      const asked = /Q: What is (the pass key|the magic word|key (\d{3}))\?\nA:$/.exec(prompt!);
      assert.ok(asked, prompt);
      const want = asked[2] ? new RegExp(`^key ${asked[2]} = (\\d{4})\\.$`, 'm').exec(prompt!)?.[1] : asked[1] === 'the pass key' ? /pass key is (\d{5})\./.exec(prompt!)?.[1] : /magic word is (\w+)\./.exec(prompt!)?.[1];
      assert.equal(answer, ` ${want}\n`);
    }
});

/** Each option word of an option list (`A) bird B) fish …`) → its letter. */
const lettersOf = (list: string) => new Map([...list.matchAll(/([A-D])\) (\w+)/g)].map((m) => [m[2]!, m[1]!]));

test('option drill: each graded letter stands before its word in the option list, each word asked once; rule drill: a refusal exactly for the forbidden topics, each asked once', () => {
  for (let i = 0; i < 40; i++) {
    const rng = exampleRng('drill-test', 7, i);
    const option = drill('option', rng, 1152);
    const [[list, lw], ...lines] = option;
    assert.equal(lw, 0);
    const letterOf = lettersOf(list!);
    assert.equal(letterOf.size, 4, list);
    const asked: string[] = [];
    for (let k = 0; k < lines.length; k += 2) {
      const [[q, qw], [a, aw]] = [lines[k]!, lines[k + 1]!];
      const word = /^(\w+) (can|is|gives) \w+\. Answer:$/.exec(q)?.[1];
      assert.ok(word && letterOf.has(word), q);
      assert.deepEqual([qw, aw, a], [0, 1, ` ${letterOf.get(word)}\n`]);
      asked.push(word);
    }
    assert.ok(asked.length >= 2 && new Set(asked).size === asked.length, asked.join());

    const rule = drill('rule', rng, 1152);
    const forbidden = new Set([...rule[0]![0].matchAll(/Do not talk about ([\w ]+?)\./g)].map((m) => m[1]!));
    assert.ok(forbidden.size >= 1 && forbidden.size <= 4 && rule[0]![1] === 0);
    const topics: string[] = [];
    for (let k = 1; k < rule.length; k += 2) {
      const topic = /^Q: Tell me about ([\w ]+)\.\nA:$/.exec(rule[k]![0])![1]!;
      const [a, aw] = rule[k + 1]!;
      assert.equal(aw, 1);
      assert.equal(a.startsWith(' Sorry, I can not talk about'), forbidden.has(topic), `${topic}: ${a}`);
      topics.push(topic);
    }
    assert.ok(topics.length >= 4 && new Set(topics).size === topics.length && topics.some((t) => !forbidden.has(t)));
  }
});

test('option drill with short lines: each line is `word:` at share 1 and the task line at 0, the letter still the one in front of the word', () => {
  for (let i = 0; i < 20; i++) {
    for (const [share, form] of [[1, /^(\w+):$/], [0, /^(\w+) (?:can|is|gives) \w+\. Answer:$/]] as const) {
      const [[list], ...lines] = drill('option', exampleRng('drill-test', 11, i), 1152, { optionShortShare: share });
      const letterOf = lettersOf(list!);
      for (let k = 0; k < lines.length; k += 2) {
        const word = form.exec(lines[k]![0])?.[1];
        assert.ok(word && letterOf.has(word), lines[k]![0]);
        assert.deepEqual(lines[k + 1], [` ${letterOf.get(word)}\n`, 1]);
      }
    }
  }
});

test('option drill with short lines of up to n property words: `word`, `word can`, `word can fly`, each with a colon, all three drawn', () => {
  const seen = new Set<number>();
  for (let i = 0; i < 30; i++) {
    const [[list], ...lines] = drill('option', exampleRng('drill-test', 12, i), 1152, { optionShortShare: 1, optionShortWords: 2 });
    const letterOf = lettersOf(list!);
    for (let k = 0; k < lines.length; k += 2) {
      const [word, ...kept] = lines[k]![0].slice(0, -1).split(' ');
      const rule = COMMONSENSE_RULES.find((r) => r.things.includes(word!))!;
      assert.ok(lines[k]![0].endsWith(':') && letterOf.has(word!), lines[k]![0]);
      assert.deepEqual(kept, rule.property.split(' ').slice(0, kept.length));
      assert.deepEqual(lines[k + 1], [` ${letterOf.get(word!)}\n`, 1]);
      seen.add(kept.length);
    }
  }
  assert.deepEqual([...seen].sort(), [0, 1, 2]);
});

test("option drill in the task's form: Q/A blocks, each letter the one in front of its answer word in its own (last) list", () => {
  for (let i = 0; i < 30; i++) {
    const pieces = drill('option', exampleRng('drill-test', 13, i), 1152, { optionTaskShare: 1 });
    assert.ok(pieces.length >= 4 && pieces.length <= 10 && pieces.length % 2 === 0);
    for (let k = 0; k < pieces.length; k += 2) {
      const [[q, qw], [a, aw]] = [pieces[k]!, pieces[k + 1]!];
      const [, property, list, word, said] = /^Q: Which one ([\w ]+)\? (.+)\nA: (\w+) ([\w ]+)\. Answer:$/.exec(q) ?? [];
      assert.ok(list && property === said, q);
      const letterOf = lettersOf(list);
      assert.ok(COMMONSENSE_RULES.find((r) => r.property === property)!.things.includes(word!), q);
      assert.deepEqual([qw, aw, a], [0, 1, ` ${letterOf.get(word!)}\n\n`]);
    }
  }
});

test('pick drill: each graded letter is the one in front of the option that has the asked property', () => {
  const propertyOf = new Map(COMMONSENSE_RULES.flatMap((r) => r.things.map((t) => [t, r.property] as const)));
  for (let i = 0; i < 40; i++) {
    const pick = drill('pick', exampleRng('drill-test', 9, i), 1152);
    assert.ok(pick.length >= 4 && pick.length <= 10 && pick.length % 2 === 0);
    for (let k = 0; k < pick.length; k += 2) {
      const [[q, qw], [a, aw]] = [pick[k]!, pick[k + 1]!];
      const m = /^Which one (.+)\? A\) (\w+) B\) (\w+) C\) (\w+) D\) (\w+)\nAnswer:$/.exec(q);
      assert.ok(m, q);
      const having = [2, 3, 4, 5].filter((j) => propertyOf.get(m[j]!) === m[1]);
      assert.equal(having.length, 1, q);
      assert.deepEqual([qw, aw, a], [0, 1, ` ${'ABCD'[having[0]! - 2]}\n\n`]);
    }
  }
});

test('drill shares: each drill appears in proportion to its share, and a share of 0 never draws it', () => {
  const T = 1152;
  const count = (data: DataOptions) => {
    const seen = { copy: 0, lookup: 0, sum: 0, option: 0, rule: 0, pick: 0 };
    for (let k = 0; k < 600; k++) {
      const text = decodeChars(trainingDocument(4, 0, 0, k, 1, T, data).ids.filter((id) => id > EOS));
      if (text.startsWith('Copy: ')) seen.copy++;
      // The retrieval task asks one question of its key lines; at this row length the drill asks at least two.
      else if ((text.match(/Q: What is key/g) ?? []).length >= 2) seen.lookup++;
      else if (text.startsWith('Sum: ')) seen.sum++;
      else if (text.startsWith('Options: ')) seen.option++;
      else if (text.startsWith('Which one ')) seen.pick++;
      // A safety task document ends with its answer's single newline; every drill answer ends with a blank line.
      else if (text.startsWith('Rules: ') && text.endsWith('\n\n')) seen.rule++;
    }
    return seen;
  };
  const none = count({ copyShare: 0 });
  assert.deepEqual(none, { copy: 0, lookup: 0, sum: 0, option: 0, rule: 0, pick: 0 });
  const all = count({ copyShare: 2, lookupShare: 2, sumShare: 2, optionShare: 2, ruleShare: 2, pickShare: 2 });
  // Each drill draws 2 / (7.8 + 12) ≈ 10.1 % of 600 documents ≈ 61 (the default tasks weigh 7.8 together).
  for (const [name, n] of Object.entries(all)) assert.ok(n > 40 && n < 95, `${name}: ${n}`);
});

test('--mix reweights tasks: a task at 0 never draws, a heavier one draws more; bad specs are refused', () => {
  const ability = (text: string) =>
    /^Which one /m.test(text) ? 'commonsense' : /^Rules: /.test(text) ? 'safety' : /print\(/.test(text) ? 'code' : 'other';
  const count = (mix: string) => {
    const seen: Record<string, number> = { commonsense: 0, safety: 0, code: 0, other: 0 };
    for (let k = 0; k < 600; k++) seen[ability(decodeChars(trainingDocument(8, 0, 0, k, 1, 1152, { copyShare: 0, mix }).ids.filter((id) => id > EOS)))]!++;
    return seen;
  };
  const plain = count('');
  const mixed = count('safety=0,code=4.8');
  assert.equal(mixed.safety, 0);
  // code: 1.6 / 7.8 ≈ 21 % of documents by default, 4.8 / 10 = 48 % reweighted.
  assert.ok(plain.code > 70 && plain.code < 150, `default code ${plain.code}`);
  assert.ok(mixed.code > 210 && mixed.code < 320, `reweighted code ${mixed.code}`);
  assert.deepEqual(taskMix('code = 3'), { ...taskMix(''), code: 3 });
  for (const bad of ['cod=3', 'code=-1', 'code', 'code=x', 'code=1=2', Object.keys(taskMix('')).map((t) => `${t}=0`).join(',')])
    assert.throws(() => taskMix(bad), /--mix/, bad);
});

test('worked answers inside a few-shot prompt weigh shotAnswerWeight; questions keep the prompt weight', () => {
  let checked = 0;
  for (let k = 0; checked < 20 && k < 400; k++) {
    const heavy = trainingDocument(6, 1, 0, k, 1, 1152, { copyShare: 0, shotAnswerWeight: 1 });
    const plain = trainingDocument(6, 1, 0, k, 1, 1152, { copyShare: 0 });
    assert.deepEqual(heavy.ids, plain.ids, 'the weight changes, never the text');
    const text = decodeChars(heavy.ids.slice(1, -1));
    const shots = [...text.matchAll(/\nA:( [^\n]*\n\n)/g)];
    if (shots.length === 0) continue;
    checked++;
    // weights[i] is the weight of predicting ids[i]; text[j] is ids[j + 1].
    const graded = new Set(shots.flatMap((m) => Array.from({ length: m[1]!.length }, (_, i) => m.index! + 3 + i)));
    const last = text.lastIndexOf('\nA:') + 3;
    for (let j = 0; j < text.length; j++) {
      const w = heavy.weights[j + 1]!;
      if (j >= last) assert.equal(w, 1, 'the final answer');
      else assert.equal(w, graded.has(j) ? 1 : 0.3, `character ${j} ${JSON.stringify(text.slice(j, j + 10))}`);
      if (j < last) assert.equal(plain.weights[j + 1], 0.3);
    }
  }
  assert.equal(checked, 20);
});
