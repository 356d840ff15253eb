// Summarises a V8 .cpuprofile (node --cpu-prof) for bench/cpu/main-thread.ts: the top
// self-time frames, and the inclusive share of each area of code (a frame's time counts
// once per sample however deep it recurses). Idle time is left out of every share.
//
//   node dist/bench/cpu/profile-summary.js FILE.cpuprofile [--top 30]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '30' } } });
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;

/** Where a frame's code lives, by its URL: the areas a message's path crosses. */
const AREAS: ReadonlyArray<[string, RegExp]> = [
  ['smtp-server', /node_modules\/smtp-server\//],
  ['pino (+ sonic-boom)', /node_modules\/(pino|sonic-boom|thread-stream|fast-redact|quick-format|safe-stable)/],
  ['prom-client', /node_modules\/prom-client\//],
  ['piscina', /node_modules\/piscina\//],
  ['p-queue', /node_modules\/(p-queue|eventemitter3|p-timeout)/],
  ['smtpipe src/smtp', /dist\/src\/smtp\//],
  ['smtpipe src/message', /dist\/src\/message\//],
  ['smtpipe src/delivery', /dist\/src\/delivery\//],
  ['smtpipe src/pool', /dist\/src\/pool\//],
  ['smtpipe src/ops', /dist\/src\/ops\//],
  ['node:net / stream', /^node:(net|internal\/stream|stream|internal\/streams)/],
  ['node:worker_threads', /^node:internal\/worker/],
];

/**
 * Stages of a message's path, each sample counted once: the first stage whose test matches
 * anything on the stack, in this order (a log line written from the dispatcher counts as
 * the log's). What matches none is the work a bare smtp-server sink does as well.
 */
const STAGES: ReadonlyArray<[string, RegExp]> = [
  ['reply writes (socket send, kernel)', /^writeUtf8String /],
  ['log line (pino, sonic-boom)', /node_modules\/(pino|sonic-boom)\/|^writeString /],
  ['metrics (prom-client)', /node_modules\/prom-client\//],
  ['pool (p-queue, piscina, postMessage)', /node_modules\/(p-queue|piscina)\/|dist\/src\/pool\/|^postMessage |node:internal\/worker/],
  ['message intake (src/message)', /dist\/src\/message\//],
  ['delivery (policy, dispatcher, headers, env)', /dist\/src\/delivery\//],
  ['session hooks (src/smtp, ops)', /dist\/src\/smtp\/(?!connection|data-stream)|dist\/src\/ops\//],
];

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const frameKey = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*?\/(node_modules|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const frameTotal = new Map<string, number>();
const stages = new Map<string, number>();
let busy = 0;
for (const id of profile.samples) {
  const leaf = byId.get(id)!;
  if (leaf.callFrame.functionName === '(idle)') continue;
  busy += 1;
  self.set(frameKey(leaf), (self.get(frameKey(leaf)) ?? 0) + 1);
  const seen = new Set<string>();
  const frames = new Set<string>();
  const raw: string[] = [];
  for (let n: ProfileNode | undefined = leaf; n; n = byId.get(parent.get(n.id) ?? -1)) {
    frames.add(frameKey(n));
    raw.push(`${n.callFrame.functionName} ${n.callFrame.url}`);
    for (const [area, re] of AREAS) if (re.test(n.callFrame.url)) seen.add(area);
  }
  for (const key of frames) frameTotal.set(key, (frameTotal.get(key) ?? 0) + 1);
  const stage = STAGES.find(([, re]) => raw.some((frame) => re.test(frame)))?.[0] ?? 'smtp-server, node:net, GC (as in the sink)';
  stages.set(stage, (stages.get(stage) ?? 0) + 1);
  if (leaf.callFrame.functionName === '(garbage collector)') seen.add('(garbage collector)');
  for (const area of seen) inclusive.set(area, (inclusive.get(area) ?? 0) + 1);
}

const pct = (n: number) => `${((100 * n) / busy).toFixed(1).padStart(5)}%`;
console.log(`${busy} busy samples`);
console.log(`\nTop ${values.top} frames by self time:`);
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(n)}  ${key}`);
console.log(`\nTop ${values.top} frames by inclusive time:`);
for (const [key, n] of [...frameTotal].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${pct(n)}  ${key}`);
console.log('\nInclusive share by area (a sample counts for every area on its stack):');
for (const [area, n] of [...inclusive].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${area}`);
console.log('\nStages (each sample once, the first stage on its stack in the order above):');
for (const [stage, n] of [...stages].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${stage}`);
