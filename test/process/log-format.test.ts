// --log-format: journal prefixes each line with its syslog priority (sd-daemon(3)), json
// writes the bare line; --help names the documentation. The built CLI as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { eventually, scratchDir } from '../helpers/daemon.js';
import { repoRoot } from '../helpers/paths.js';

const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');
const CONF = `
  ESMTP_Listener { Listen "127.0.0.1:0" { } }
  pipe_transport "t" { program_name = "/bin/cat" domain = ( "example.com" ) allow_root = true }
`;

/** Runs the daemon with `args`, logs an info (listening), a warning (SIGUSR1) and errors (a broken reload). */
async function infoWarnError(args: string[]): Promise<string[]> {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, CONF);
  const child = spawn(process.execPath, [CLI, '-c', file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  const has = (text: string) => eventually(() => lines.some((line) => line.includes(text)));
  try {
    await has('"msg":"listening"');
    child.kill('SIGUSR1');
    await has('"signal":"SIGUSR1"');
    await writeFile(file, 'pipe_transport "t" { nonsense }\n');
    child.kill('SIGHUP');
    await has('reload failed');
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  return lines;
}

const find = (lines: string[], text: string) => {
  const line = lines.find((l) => l.includes(text));
  assert.ok(line, `a line with ${text} in:\n${lines.join('\n')}`);
  return line;
};

test('--log-format journal: each line after its syslog priority, <6> info, <4> warning, <3> error', async () => {
  const lines = await infoWarnError(['--log-format', 'journal']);
  assert.match(find(lines, '"msg":"listening"'), /^<6>\{"level":30,/);
  assert.match(find(lines, '"signal":"SIGUSR1"'), /^<4>\{"level":40,/);
  assert.match(find(lines, 'reload failed'), /^<3>\{"level":50,/);
  for (const line of lines) {
    assert.match(line, /^<[2-7]>\{/, 'every line has its prefix');
    JSON.parse(line.slice(3));
  }
});

test('--log-format json (the default): bare JSON lines, as before', async () => {
  for (const args of [[], ['--log-format', 'json']]) {
    const lines = await infoWarnError(args);
    for (const line of lines) assert.equal((JSON.parse(line) as { pid: number }).pid > 0, true);
    assert.match(find(lines, 'reload failed'), /^\{"level":50,/);
  }
});

test('--log-format with an unknown value: exit 64', async () => {
  const child = spawn(process.execPath, [CLI, '--log-format', 'xml'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 64);
  assert.match(stderr, /--log-format must be one of json, journal/);
});

test('--help names the documentation and where it is installed; the files are there', async () => {
  const child = spawn(process.execPath, [CLI, '--help'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  assert.match(stdout, /--log-format/);
  const where = /Documentation, in (\S+) /.exec(stdout);
  assert.ok(where, stdout);
  assert.equal(where[1], repoRoot.replace(/\/$/, ''));
  for (const doc of ['README.md', 'docs/operations.md', 'docs/configuration.md']) {
    assert.match(stdout, new RegExp(`^  ${doc.replace('.', '\\.')} `, 'm'));
    assert.ok(existsSync(path.join(where[1], doc)), doc);
  }
});
