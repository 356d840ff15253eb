// config/smtpipe.conf states the real defaults: uncommenting every `#Name = value` line
// loads the same config as the file as shipped, and every option of the tables is in it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { GLOBAL_OPTIONS } from '../../src/config/global-options.js';
import { LISTENER_OPTIONS } from '../../src/config/listener-options.js';
import { loadConfig } from '../../src/config/load.js';
import { TRANSPORT_OPTIONS } from '../../src/config/transport-options.js';
import { repoRoot } from '../helpers/paths.js';

const SHIPPED = path.join(repoRoot, 'config', 'smtpipe.conf');
// Pool_Threads = 4 is the default on a host with 4 CPUs or more; an unprivileged daemon
// resolves no default user, so runAs does not depend on who runs the test.
const HOST = { hostname: 'mx.test', parallelism: 8, uid: 1000, gid: 1000 };
/** `#Name = value`, the "#" right before the name: an option at its default. */
const DEFAULT_LINE = /^(\s*)#([A-Za-z_]+)(\s*=)/gm;

/** Plain data without positions (a transport's places too) or the file's path: Maps become entry arrays. */
function strip(value: unknown): unknown {
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [strip(k), strip(v)]);
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'position' && k !== 'places' && k !== 'file').map(([k, v]) => [k, strip(v)]));
  }
  return value;
}

async function load(text: string) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-defaults-'));
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, text);
  const result = await loadConfig(file, HOST);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  assert.deepEqual(result.warnings, []);
  return result.config;
}

test('config/smtpipe.conf: uncommenting every #Name = value line changes nothing', async () => {
  const shipped = await readFile(SHIPPED, 'utf8');
  const uncommented = shipped.replace(DEFAULT_LINE, '$1$2$3');
  const names = [...shipped.matchAll(DEFAULT_LINE)].map((m) => m[2]);
  assert.ok(names.length >= 30, `only ${names.length} default lines`);
  assert.deepStrictEqual(strip(await load(uncommented)), strip(await load(shipped)));
});

test('config/smtpipe.conf: every option with a fixed default has its #Name = value line; every option is named', async () => {
  const shipped = await readFile(SHIPPED, 'utf8');
  const defaultLines = new Set([...shipped.matchAll(DEFAULT_LINE)].map((m) => m[2]));
  // Options set in the file (program_name, domain, output_file) need no default line.
  const set = new Set([...shipped.matchAll(/^\s*([A-Za-z_]+)\s*=/gm)].map((m) => m[1]));
  for (const scope of [GLOBAL_OPTIONS, LISTENER_OPTIONS, TRANSPORT_OPTIONS]) {
    for (const spec of Object.values(scope.rows)) {
      assert.ok(shipped.includes(spec.name), `${spec.name} is not in config/smtpipe.conf`);
      if (spec.default !== undefined && !set.has(spec.name)) {
        assert.ok(defaultLines.has(spec.name), `config/smtpipe.conf lacks #${spec.name} = ${spec.default}`);
      }
    }
  }
});
