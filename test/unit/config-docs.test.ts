// docs/configuration.md holds every option as the option rows declare it: its generated
// tables are what `npm run docs:config` writes now, and none is missing.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { OPTION_DOC_SECTIONS, renderOptionDocs } from '../../src/config/option-docs.js';
import { repoRoot } from '../helpers/paths.js';

const DOC = path.join(repoRoot, 'docs', 'configuration.md');

test('docs/configuration.md: the option tables are up to date (npm run docs:config)', async () => {
  const doc = await readFile(DOC, 'utf8');
  assert.equal(renderOptionDocs(doc), doc, 'run `npm run docs:config` and commit docs/configuration.md');
});

test('docs/configuration.md: every generated section is there, once', async () => {
  const doc = await readFile(DOC, 'utf8');
  for (const name of OPTION_DOC_SECTIONS) {
    assert.equal(doc.split(`<!-- options:${name} -->\n`).length, 2, `section ${name}`);
  }
});

test('renderOptionDocs: a stale table is rewritten, an unknown section is a bug', () => {
  const stale = '<!-- options:global -->\n| stale-row |\n<!-- /options -->';
  assert.match(renderOptionDocs(stale), /\| `Pool_Threads` \| whole number \|/);
  assert.doesNotMatch(renderOptionDocs(stale), /stale-row/);
  assert.throws(() => renderOptionDocs('<!-- options:nope -->\n<!-- /options -->'), /no generated section "nope"/);
});
