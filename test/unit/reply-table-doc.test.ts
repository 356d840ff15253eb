// The reply table of docs/operations.md ("The delivery line") against mapOutcomeToReply:
// that table is the only written copy of the reply mapping (design review finding 3), so
// this test reads it and fails when a row, a kind or a reply drifts from the code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { mapOutcomeToReply, type DeliveryOutcome } from '../../src/delivery/outcome-reply.js';
import { formatReply } from '../../src/smtp/reply.js';
import type { ExitCodePreset, MappedReply } from '../../src/config/types.js';
import { repoRoot } from '../helpers/paths.js';

const DOC = 'docs/operations.md';
const QUEUE_ID = 'MWWO1QYV5F094900001';

/** One outcome, and what the doc's placeholders stand for in its reply. */
interface Sample {
  readonly outcome: DeliveryOutcome;
  readonly timeoutMs: number;
  /** Placeholder -> value: `N` (exit status or timeout in seconds), `SIGxxx`, `ID`. */
  readonly values: Readonly<Record<string, string>>;
  /** The transport's exit_codes; momentum when absent. */
  readonly exitCodes?: ExitCodePreset;
}

const run = { pid: 4242, killFailures: [], statusLine: null, stderrTail: null };

function exited(exitCode: number, stdinError: string | null = null, exitCodes: ExitCodePreset = 'momentum'): Sample {
  return { outcome: { kind: 'exited', exitCode, stdinError, ...run }, timeoutMs: 60_000, values: { N: String(exitCode) }, exitCodes };
}
function signaled(signal: string): Sample {
  return { outcome: { kind: 'signaled', signal, ...run }, timeoutMs: 60_000, values: { SIGxxx: signal } };
}
function timedOut(seconds: number, signal: string | null): Sample {
  const timeoutMs = seconds * 1000;
  return { outcome: { kind: 'timed-out', signal, ...run }, timeoutMs, values: { N: String(seconds) } };
}
function fixed(outcome: DeliveryOutcome): Sample {
  return { outcome, timeoutMs: 60_000, values: {} };
}

/** Every kind the code knows (the compiler makes this record exhaustive), with samples. */
const SAMPLES: Record<DeliveryOutcome['kind'], readonly Sample[]> = {
  exited: [
    exited(0),
    exited(0, 'EPIPE'),
    exited(1),
    exited(75),
    exited(255),
    exited(0, null, 'sysexits'),
    exited(75, null, 'sysexits'),
    exited(1, null, 'sysexits'),
    exited(100, null, 'qmail'),
    exited(111, null, 'qmail'),
  ],
  signaled: [signaled('SIGSEGV'), signaled('SIGKILL')],
  'timed-out': [timedOut(60, 'SIGTERM'), timedOut(5, 'SIGKILL'), timedOut(1, null)],
  'spawn-failed': [fixed({ kind: 'spawn-failed', errorCode: 'ENOENT', message: 'spawn ENOENT' })],
  'output-failed': [fixed({ kind: 'output-failed', errorCode: 'EACCES', message: 'EACCES' })],
  'content-rejected': [fixed({ kind: 'content-rejected' })],
  'loop-detected': [
    fixed({ kind: 'loop-detected', receivedHeaders: 51, deliveredTo: null }),
    fixed({ kind: 'loop-detected', receivedHeaders: 2, deliveredTo: 'a@x.test' }),
  ],
  'pool-busy': [fixed({ kind: 'pool-busy' })],
  'pool-failed': [fixed({ kind: 'pool-failed', message: 'worker exited' })],
  'spool-failed': [fixed({ kind: 'spool-failed', errorCode: 'ENOSPC' }), fixed({ kind: 'spool-failed', errorCode: 'EIO' })],
  'client-gone': [fixed({ kind: 'client-gone' })],
};

/** Cells of a Markdown table row; `|` inside backticks does not occur in this table. */
function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** Rows of the table whose header starts `| \`outcome\` | meaning | reply |`: kind -> reply templates. */
function readReplyTable(markdown: string): Map<string, string[]> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => /^\|\s*`outcome`\s*\|\s*meaning\s*\|\s*reply\s*\|/.test(l));
  assert.notEqual(start, -1, `${DOC}: no table headed | \`outcome\` | meaning | reply |`);
  const header = cells(lines[start] ?? '');
  const replyColumn = header.indexOf('reply');
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const row = cells(line);
    const kind = /^`([a-z-]+)`$/.exec(row[0] ?? '')?.[1];
    assert.ok(kind !== undefined, `${DOC}: first cell of ${JSON.stringify(line.slice(0, 60))} is not a backticked outcome kind`);
    assert.ok(!rows.has(kind), `${DOC}: outcome ${kind} has two rows`);
    // A reply is a backticked span that starts with a three-digit code.
    const templates = [...(row[replyColumn] ?? '').matchAll(/`(\d{3} [^`]+)`/g)].map((m) => m[1] as string);
    assert.ok(templates.length > 0, `${DOC}: outcome ${kind} names no reply`);
    rows.set(kind, templates);
  }
  return rows;
}

function fill(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\b(ID|N|SIGxxx)\b/g, (name) => (name === 'ID' ? QUEUE_ID : (values[name] ?? `<${name}?>`)));
}

const table = readReplyTable(readFileSync(path.join(repoRoot, DOC), 'utf8'));
const noCodes = new Map<number, MappedReply>();

test(`${DOC}: one row per outcome kind, no more, no fewer`, () => {
  assert.deepEqual([...table.keys()].sort(), Object.keys(SAMPLES).sort());
});

for (const [kind, samples] of Object.entries(SAMPLES)) {
  test(`${DOC}: the ${kind} row gives the reply mapOutcomeToReply gives, and every reply it names is reachable`, () => {
    const templates = table.get(kind) ?? [];
    const used = new Set<string>();
    for (const sample of samples) {
      const actual = formatReply(mapOutcomeToReply(sample.outcome, noCodes, QUEUE_ID, sample.timeoutMs, sample.exitCodes));
      const match = templates.find((t) => fill(t, sample.values) === actual);
      assert.ok(match !== undefined, `${JSON.stringify(sample.outcome)} -> ${actual}; the doc says ${templates.join(' or ')}`);
      used.add(match);
    }
    assert.deepEqual(templates.filter((t) => !used.has(t)), [], `replies in the ${kind} row that no ${kind} outcome gives`);
  });
}
