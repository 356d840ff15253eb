// Property: the config loader, fed any text at all, returns a Config or errors that
// point into the text (file named, 1-based line and column on a line that exists);
// it never throws. Inputs: arbitrary strings, config-ish token soup, and real configs
// mutated by token and character edits.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseConfigText, type ParseResult } from '../../src/config/load.js';
import type { ConfigDiagnostic } from '../../src/config/types.js';
import { fixture, repoRoot } from '../helpers/paths.js';

const FILE = 'fuzz.conf';
const HOST = { hostname: 'mx.test', parallelism: 2 };

/** Every diagnostic names FILE and a position inside `text` (the eof column included). */
function checkDiagnostics(text: string, list: readonly ConfigDiagnostic[], severity: ConfigDiagnostic['severity']): void {
  const lines = text.split('\n');
  for (const d of list) {
    const where = `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`;
    assert.equal(d.file, FILE, where);
    assert.equal(d.severity, severity, where);
    assert.ok(Number.isInteger(d.line) && d.line >= 1 && d.line <= lines.length, `line out of range (${lines.length} lines): ${where}`);
    const lineLength = (lines[d.line - 1] as string).length;
    assert.ok(Number.isInteger(d.column) && d.column >= 1 && d.column <= lineLength + 1, `column out of range (line has ${lineLength}): ${where}`);
    assert.match(d.code, severity === 'error' ? /^ERR_CONFIG_[A-Z_]+$/ : /^WARN_CONFIG_[A-Z_]+$/, where);
    assert.ok(typeof d.message === 'string' && d.message.length > 0, where);
  }
}

const tally = { texts: 0, loaded: 0, refused: 0, diagnostics: 0 };

function loadsOrPointsIntoText(text: string): boolean {
  tally.texts += 1;
  let result: ParseResult;
  try {
    result = parseConfigText(text, FILE, HOST);
  } catch (error) {
    assert.fail(`parseConfigText threw ${String(error)} for ${JSON.stringify(text)}`);
  }
  checkDiagnostics(text, result.warnings, 'warning');
  tally.diagnostics += result.warnings.length + (result.ok ? 0 : result.errors.length);
  tally[result.ok ? 'loaded' : 'refused'] += 1;
  if (result.ok) {
    assert.ok(Object.isFrozen(result.config), 'the config is frozen');
    assert.equal(result.config.file, path.resolve(FILE));
  } else {
    assert.ok(result.errors.length > 0, 'a failed load names at least one error');
    checkDiagnostics(text, result.errors, 'error');
  }
  return true;
}

/** Pieces that make the grammar interesting: punctuation, quotes, comments, names, numbers. */
const VOCABULARY = [
  '{', '}', '(', ')', '[', ']', '=', '"', '"x"', '""', '/*', '*/', '#', '\n', '\r\n', ' ', '\t', '\\', '\\"', '\uFEFF',
  'include', 'readonly_include "x.conf"', 'pipe_transport', 'ESMTP_Listener', 'Listen', '":0"', '"127.0.0.1:25"',
  'program_name', 'domain', 'code', 'env', 'timeout', 'eol', 'output_mode', 'Max_Message_Size', 'Greeting_Pause',
  'Shutdown_Timeout', 'Pool_Threads', 'true', 'no', 'crlf', '0', '0.5', '-1', '0777', '99999999999999999999',
  '"/bin/cat ${queue_id}"', '${recipients}', '${nope', '"550 no"', '"__proto__"', 'a.example', '*.b.example',
];

const configish = fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 60 }).map((parts) => parts.join(''));

test('arbitrary text: a Config or positioned errors, never a throw', (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 200 }), loadsOrPointsIntoText), { seed: 0x51a7e01, numRuns: 1500 });
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), loadsOrPointsIntoText), { seed: 0x51a7e02, numRuns: 1500 });
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), loadsOrPointsIntoText), { seed: 0x51a7e03, numRuns: 500 });
  fc.assert(fc.property(configish, loadsOrPointsIntoText), { seed: 0x51a7e04, numRuns: 2000 });
  t.diagnostic(`texts ${JSON.stringify(tally)}`);
});

/** Words, runs of blanks, and single punctuation marks: what the edits below act on. */
function tokenize(text: string): string[] {
  return text.match(/\s+|[{}()[\]="#\\]|\/\*|\*\/|[^\s{}()[\]="#\\]+/g) ?? [];
}

type Edit =
  | { kind: 'delete-token' | 'duplicate-token' | 'delete-char'; at: number }
  | { kind: 'insert-token'; at: number; token: string }
  | { kind: 'insert-char'; at: number; char: string }
  | { kind: 'swap-tokens'; at: number; other: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constantFrom('delete-token' as const, 'duplicate-token' as const, 'delete-char' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert-token' as const), at: fc.nat(), token: fc.constantFrom(...VOCABULARY) }),
  fc.record({ kind: fc.constant('insert-char' as const), at: fc.nat(), char: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
  fc.record({ kind: fc.constant('swap-tokens' as const), at: fc.nat(), other: fc.nat() }),
);

function applyEdits(text: string, edits: readonly Edit[]): string {
  let tokens = tokenize(text);
  for (const e of edits) {
    const n = tokens.length;
    const i = n === 0 ? 0 : e.at % n;
    switch (e.kind) {
      case 'delete-token':
        tokens.splice(i, 1);
        break;
      case 'duplicate-token':
        tokens.splice(i, 0, tokens[i] ?? '');
        break;
      case 'insert-token':
        tokens.splice(e.at % (n + 1), 0, e.token);
        break;
      case 'swap-tokens': {
        const j = n === 0 ? 0 : e.other % n;
        [tokens[i], tokens[j]] = [tokens[j] ?? '', tokens[i] ?? ''];
        break;
      }
      case 'delete-char':
      case 'insert-char': {
        // Character edits work on the joined text, then it is tokenized again.
        const joined = tokens.join('');
        const at = e.at % (joined.length + 1);
        const inserted = e.kind === 'insert-char' ? e.char : '';
        const removed = e.kind === 'delete-char' ? 1 : 0;
        const changed = joined.slice(0, at) + inserted + joined.slice(at + removed);
        tokens = tokenize(changed);
        break;
      }
    }
  }
  return tokens.join('');
}

for (const [name, file] of [
  ['config/smtpipe.conf', path.join(repoRoot, 'config', 'smtpipe.conf')],
  ['ecelerity-full.conf', fixture('config', 'ecelerity-full.conf')],
] as const) {
  test(`mutated ${name}: a Config or positioned errors, never a throw`, (t) => {
    const original = readFileSync(file, 'utf8');
    assert.equal(tokenize(original).join(''), original, 'tokenizing loses nothing');
    assert.ok(loadsOrPointsIntoText(original));
    let failed = 0;
    let runs = 0;
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 8 }), (edits) => {
        const text = applyEdits(original, edits);
        runs += 1;
        if (!parseConfigText(text, FILE, HOST).ok) failed += 1;
        return loadsOrPointsIntoText(text);
      }),
      { seed: name.length * 7919, numRuns: 600 },
    );
    t.diagnostic(`${runs} mutants, ${failed} refused with positioned errors, ${runs - failed} loaded`);
    // Not a property, a sanity check of the generator: both outcomes occur.
    assert.ok(failed > 0 && failed < runs, `${failed} of ${runs} mutants failed to load`);
  });
}
