// The error registry (src/errors.ts) against the source: every ERR_/WARN_ string literal in
// src/, workers/ and native/ is a registered code of ours or a known foreign (Node) one,
// and every registered code is still emitted somewhere, so the table cannot drift.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, FOREIGN_CODES } from '../../src/errors.js';
import { repoRoot } from '../helpers/paths.js';

/** A whole string literal that is a code: 'ERR_X', "WARN_Y" or `ERR_Z`. */
const CODE_LITERAL = /(['"`])((?:ERR|WARN)_[A-Z0-9_]+)\1/g;
const REGISTRY = path.join('src', 'errors.ts');

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(repoRoot, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mjs)$/.test(entry.name))
    .map((entry) => path.relative(repoRoot, path.join(entry.parentPath, entry.name)))
    .filter((file) => file !== REGISTRY);
}

/** code -> the files whose literals name it. */
function literalsInSource(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of ['src', 'workers', 'native'].flatMap(sourceFiles)) {
    for (const [, , code = ''] of readFileSync(path.join(repoRoot, file), 'utf8').matchAll(CODE_LITERAL)) {
      found.set(code, [...(found.get(code) ?? []), file]);
    }
  }
  return found;
}

const found = literalsInSource();

test('the scan finds the codes it should (it reads the TypeScript sources)', () => {
  for (const code of ['ERR_CONFIG_SYNTAX', 'ERR_POOL_SPAWNER_UNAVAILABLE', 'ERR_SPAWN_INVALID_ARG', 'ERR_OUTPUT_OPEN']) {
    assert.ok(found.has(code), code);
  }
});

test('every ERR_/WARN_ literal in src/, workers/ and native/ is in the registry', () => {
  const missing = [...found].filter(([code]) => !(code in ERROR_CODES) && !(code in FOREIGN_CODES));
  assert.deepEqual(missing, [], 'register these in src/errors.ts (or FOREIGN_CODES for a Node code only read)');
});

test('every registered code is still used in the source', () => {
  const unused = [...Object.keys(ERROR_CODES), ...Object.keys(FOREIGN_CODES)].filter((code) => !found.has(code));
  assert.deepEqual(unused, []);
});

test('codes follow ERR_<AREA>_<WHAT> / WARN_<AREA>_<WHAT>, and ours are not Node\'s', () => {
  for (const [code, entry] of Object.entries(ERROR_CODES)) {
    assert.match(code, /^(ERR|WARN)_[A-Z]+_[A-Z0-9_]+$/, code);
    assert.ok(entry.meaning.length > 0 && entry.where.length > 0, code);
    assert.ok(!(code in FOREIGN_CODES), `${code} is both ours and foreign`);
  }
});
