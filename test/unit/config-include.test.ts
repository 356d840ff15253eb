import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatDiagnostic, loadConfig, parseConfigText } from '../../src/config/load.js';
import { makeFifo, withinMs } from '../helpers/fifo.js';
import { fixture } from '../helpers/paths.js';

// An unprivileged smtpipe: transports without user keep its ids, nothing is looked up.
const host = { hostname: 'mx.test', parallelism: 8, uid: 1000, gid: 1000 };
const where = (d: { file: string; line: number; column: number; code: string }) =>
  `${path.relative(fixture('config'), d.file)}:${d.line}:${d.column} ${d.code}`;

test('include: a file, a file inside a scope, and a directory in lexical order', async () => {
  const result = await loadConfig(fixture('config', 'include', 'main.conf'), host);
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.warnings, []);
  // conf.d holds 10-first, 100-third, 20-second: lexical, not numeric, order.
  // .hidden.conf and nested/ would each be an error if they were read.
  assert.deepEqual(
    result.config.transports.map((t) => [t.name, t.domains]),
    [
      ['alpha', ['alpha.example']],
      ['first', ['first.example']],
      ['third', ['third.example']],
      ['second', ['second.example']],
    ],
  );
  // sub/listener.conf includes "listen.conf": found in sub/, next to its includer.
  assert.deepEqual(result.config.listeners.map((l) => l.label), ['127.0.0.1:0']);
  assert.equal(result.config.listeners[0]?.position.file, fixture('config', 'include', 'sub', 'listen.conf'));
  assert.equal(result.config.file, fixture('config', 'include', 'main.conf'));
});

test('include: a cycle is an error at the include that closes it', async () => {
  const result = await loadConfig(fixture('config', 'cycle', 'a.conf'), host);
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map(where), ['cycle/b.conf:2:1 ERR_CONFIG_INCLUDE']);
  assert.match(result.errors[0]?.message ?? '', /include cycle: a\.conf -> b\.conf -> a\.conf/);
});

test('include: every missing include is an error at its own position', async () => {
  const result = await loadConfig(fixture('config', 'missing', 'main.conf'), host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map(where), [
    'missing/main.conf:3:3 ERR_CONFIG_INCLUDE',
    'missing/main.conf:5:1 ERR_CONFIG_INCLUDE',
  ]);
  assert.match(result.errors[0]?.message ?? '', /cannot include "listeners\.d": .*missing\/listeners\.d: no such file or directory/);
});

test('include: syntax errors of included files name the included file', async () => {
  const result = await loadConfig(fixture('config', 'broken', 'main.conf'), host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map(where), [
    'broken/main.conf:4:16 ERR_CONFIG_SYNTAX',
    'broken/bad.conf:3:1 ERR_CONFIG_SYNTAX',
  ]);
});

test('include: diagnostics use the main path as given and includes joined to it', async () => {
  const relative = path.relative(process.cwd(), fixture('config', 'broken', 'main.conf'));
  const result = await loadConfig(relative, host);
  assert.ok(!result.ok);
  assert.deepEqual(
    result.errors.map((d) => formatDiagnostic(d).split(': error')[0]),
    [`${relative}:4:16`, `${path.join(path.dirname(relative), 'bad.conf')}:3:1`],
  );
});

test('include: parseConfigText does no I/O, so an include there is an error', () => {
  const result = parseConfigText('ESMTP_Listener {\n  include "listen.conf"\n}\n', 'text.conf', host);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((d) => `${d.line}:${d.column} ${d.code}`), ['2:3 ERR_CONFIG_INCLUDE']);
});

test('include: a FIFO, a FIFO inside an included directory and a device are errors at the include, at once', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'smtpipe-include-'));
  await mkdir(path.join(dir, 'conf.d', 'nested'), { recursive: true });
  await writeFile(path.join(dir, 'conf.d', '10-ok.conf'), 'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n');
  const fifos = [makeFifo(path.join(dir, 'fifo')), makeFifo(path.join(dir, 'conf.d', '20-pipe'))];
  const main = path.join(dir, 'main.conf');
  await writeFile(
    main,
    ['ESMTP_Listener { Listen "127.0.0.1:0" { } }', 'include "fifo"', 'include "conf.d"', '  include "/dev/null"', ''].join('\n'),
  );
  // Before the fix the first include blocked the load until a writer opened the FIFO.
  const result = await withinMs(loadConfig(main, host), 5000, 'loadConfig', fifos);
  assert.ok(!result.ok);
  assert.deepEqual(
    result.errors.map((d) => `${path.relative(dir, d.file)}:${d.line}:${d.column} ${d.code} ${d.message}`),
    [
      `main.conf:2:1 ERR_CONFIG_INCLUDE cannot read ${JSON.stringify(path.join(dir, 'fifo'))}: a FIFO, not a regular file`,
      `main.conf:3:1 ERR_CONFIG_INCLUDE cannot read ${JSON.stringify(path.join(dir, 'conf.d', '20-pipe'))}: a FIFO, not a regular file`,
      'main.conf:4:3 ERR_CONFIG_INCLUDE cannot read "/dev/null": a character device, not a regular file',
    ],
  );
});

test('include: a main config that is a FIFO is an error at its 1:1, at once', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'smtpipe-include-'));
  const fifo = makeFifo(path.join(dir, 'smtpipe.conf'));
  const result = await withinMs(loadConfig(fifo, host), 5000, 'loadConfig', [fifo]);
  assert.ok(!result.ok);
  assert.deepEqual(result.errors.map((d) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`), [
    `${fifo}:1:1 ERR_CONFIG_READ cannot read config file: a FIFO, not a regular file`,
  ]);
});
