// npm run docs:config: renders the option tables of docs/configuration.md from the option
// rows (src/config/option-docs.ts, built to dist/). test/unit/config-docs.test.ts fails
// when the committed file differs from what this writes.
import { readFileSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { renderOptionDocs } from '../dist/src/config/option-docs.js';

const file = new URL('../docs/configuration.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = renderOptionDocs(before);
writeFileSync(file, after);
process.stdout.write(`docs/configuration.md: ${before === after ? 'up to date' : 'tables rewritten'}\n`);
