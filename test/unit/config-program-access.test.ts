// src/config/program-access.ts through loadConfig, against real files in a scratch
// directory: program_name's and recipient_check's program and output_file / error_file,
// each checked as the identity its run has (nobody when smtpipe runs as root).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type HostFacts } from '../../src/config/load.js';

const root = process.getuid?.() === 0;
const dir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-access-'));
chmodSync(dir, 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));

const AS_ROOT: HostFacts = { hostname: 'mx.test', parallelism: 2, uid: 0, gid: 0, tmpdir: dir };
const [, , nobodyUid, nobodyGid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':').map(Number);
const NOBODY = `user nobody (uid ${nobodyUid}, gid ${nobodyGid})`;

/** A file with this text and mode, owned by root (the tests run as root). */
function file(name: string, mode: number, text = '#!/bin/sh\nexit 0\n'): string {
  const at = path.join(dir, name);
  writeFileSync(at, text);
  chmodSync(at, mode);
  return at;
}

function directory(name: string, mode: number): string {
  const at = path.join(dir, name);
  mkdirSync(at);
  chmodSync(at, mode);
  return at;
}

let configs = 0;
/** program_name's value starts at 4:18; `extra` options follow on line 5. */
async function problems(program: string, extra = '', host: HostFacts = AS_ROOT): Promise<string[]> {
  configs += 1;
  const conf = path.join(dir, `${configs}.conf`);
  writeFileSync(conf, `ESMTP_Listener { Listen "127.0.0.1:0" { } }

pipe_transport "t" {
  program_name = "${program} \${recipient}" domain = "t.example"
  ${extra}
}
`);
  const result = await loadConfig(conf, host);
  return result.ok ? [] : result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

const skip = root ? false : 'needs root: the checks are made as nobody';

test('program access: a program nobody may run passes; a symbolic link to one too', { skip }, async () => {
  const program = file('ok.sh', 0o755);
  symlinkSync(program, path.join(dir, 'link.sh'));
  assert.deepEqual(await problems(program), []);
  assert.deepEqual(await problems(path.join(dir, 'link.sh')), []);
});

test('program access: missing, a directory, no x bit for nobody: each its own code at program_name', { skip }, async () => {
  assert.deepEqual(await problems(`${dir}/missing.sh`), [`4:18 ERR_CONFIG_PROGRAM_MISSING program_name: no such file: ${dir}/missing.sh`]);
  assert.deepEqual(await problems('/usr/bin/procmail-not-here'), [
    '4:18 ERR_CONFIG_PROGRAM_MISSING program_name: no such file: /usr/bin/procmail-not-here (is procmail-not-here installed?)',
  ]);
  const sub = directory('a-directory', 0o755);
  assert.deepEqual(await problems(sub), [`4:18 ERR_CONFIG_PROGRAM_NOT_FILE program_name: ${sub} is a directory, not a regular file`]);
  const plain = file('plain.sh', 0o644);
  assert.deepEqual(await problems(plain), [`4:18 ERR_CONFIG_PROGRAM_ACCESS program_name: not executable by ${NOBODY} (mode 0644, owner 0:0)`]);
  const rootOnly = file('root-only.sh', 0o700);
  assert.deepEqual(await problems(rootOnly), [`4:18 ERR_CONFIG_PROGRAM_ACCESS program_name: not executable by ${NOBODY} (mode 0700, owner 0:0)`]);
});

test('program access: every directory on the way must be searchable by the transport\'s user', { skip }, async () => {
  const closed = directory('closed', 0o700);
  const inside = path.join(closed, 'deliver.sh');
  writeFileSync(inside, '#!/bin/sh\n');
  chmodSync(inside, 0o755);
  assert.deepEqual(await problems(inside), [
    `4:18 ERR_CONFIG_PROGRAM_ACCESS program_name: ${NOBODY} may not search the directory ${closed} (mode 0700, owner 0:0)`,
  ]);
  // Through a symbolic link from an open directory: the target's directories count too.
  symlinkSync(inside, path.join(dir, 'into-closed.sh'));
  assert.equal((await problems(path.join(dir, 'into-closed.sh')))[0]?.split(' ')[1], 'ERR_CONFIG_PROGRAM_ACCESS');
});

test('program access: the group\'s bits count for the run\'s group, and root may run a file with any x bit', { skip }, async () => {
  const groupOnly = file('group-only.sh', 0o750);
  chownSync(groupOnly, 0, nobodyGid as number);
  assert.deepEqual(await problems(groupOnly), []);
  // allow_root with smtpipe as root: the program keeps root's ids.
  assert.deepEqual(await problems(file('root-x.sh', 0o700), 'allow_root = true'), []);
  const none = file('no-x.sh', 0o600);
  assert.deepEqual(await problems(none, 'allow_root = true'), [
    "4:18 ERR_CONFIG_PROGRAM_ACCESS program_name: not executable by root (smtpipe's own uid) (mode 0600, owner 0:0)",
  ]);
});

test('program access: smtpipe\'s supplementary groups count for a program run as smtpipe itself', { skip }, async () => {
  const groupOnly = file('supplementary.sh', 0o750);
  chownSync(groupOnly, 0, 4242);
  const asUser: HostFacts = { ...AS_ROOT, uid: 4241, gid: 4241 };
  assert.deepEqual(await problems(groupOnly, '', { ...asUser, groups: [4242] }), []);
  assert.deepEqual(await problems(groupOnly, '', asUser), [
    `4:18 ERR_CONFIG_PROGRAM_ACCESS program_name: not executable by smtpipe's own uid 4241 (mode 0750, owner 0:4242)`,
  ]);
});

test('program access: recipient_check\'s program is checked the same way, at its own place', { skip }, async () => {
  const ok = file('check-ok.sh', 0o755);
  const rootOnly = file('check-root-only.sh', 0o700);
  assert.deepEqual(await problems(ok, `recipient_check = "${rootOnly}"`), [
    `5:21 ERR_CONFIG_PROGRAM_ACCESS recipient_check: not executable by ${NOBODY} (mode 0700, owner 0:0)`,
  ]);
});

test('output files: the directory must exist; the file, or else its directory, be writable by the transport\'s user', { skip }, async () => {
  const ok = file('deliver-out.sh', 0o755);
  const open = directory('open-logs', 0o1777);
  const closed = directory('root-logs', 0o755);
  const rootFile = file('root-logs/taken.out', 0o644, '');
  assert.deepEqual(await problems(ok, `output_file = "${open}/a.out" error_file = "${open}/a.err"`), []);
  assert.deepEqual(await problems(ok, `output_file = "${dir}/no-such-dir/a.out"`), [
    `5:17 ERR_CONFIG_OUTPUT_FILE output_file: no such directory: ${dir}/no-such-dir`,
  ]);
  assert.deepEqual(await problems(ok, `error_file = "${closed}/new.err"`), [
    `5:16 ERR_CONFIG_OUTPUT_FILE error_file: ${closed}/new.err does not exist and ${NOBODY} may not create it in ${closed} (mode 0755, owner 0:0)`,
  ]);
  assert.deepEqual(await problems(ok, `output_file = "${rootFile}"`), [
    `5:17 ERR_CONFIG_OUTPUT_FILE output_file: ${rootFile} is not writable by ${NOBODY} (mode 0644, owner 0:0)`,
  ]);
  chownSync(rootFile, nobodyUid as number, nobodyGid as number);
  assert.deepEqual(await problems(ok, `output_file = "${rootFile}"`), []);
  symlinkSync(rootFile, path.join(open, 'link.out'));
  assert.deepEqual(await problems(ok, `output_file = "${open}/link.out"`), [
    `5:17 ERR_CONFIG_OUTPUT_FILE output_file: ${open}/link.out is a symbolic link: a run refuses it`,
  ]);
});
