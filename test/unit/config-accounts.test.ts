// src/config/accounts.ts through loadConfig: user, group, allow_root and directory against
// this host's real accounts (getent) and files, with smtpipe's own ids passed in as host
// facts, so every rule is exercised whoever runs the tests.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type HostFacts, type LoadResult } from '../../src/config/load.js';
import type { TransportConfig } from '../../src/config/types.js';
import { hostedBundledConfig } from '../helpers/hosted-config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'smtpipe-accounts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const AS_ROOT: HostFacts = { hostname: 'mx.test', parallelism: 2, uid: 0, gid: 0 };
const AS_USER: HostFacts = { ...AS_ROOT, uid: 1000, gid: 1000 };

/** nobody's uid and primary gid on this host. */
const [, , nobodyUid, nobodyGid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':').map(Number);
const NOBODY = { uid: nobodyUid as number, gid: nobodyGid as number };

const HEAD = 'ESMTP_Listener { Listen "127.0.0.1:0" { } }\n';

let files = 0;
/** Each body is one transport's options after program_name and domain: lines 4, 8, 12... */
async function load(host: HostFacts, ...bodies: string[]): Promise<LoadResult> {
  const text = HEAD + bodies.map((body, i) => `pipe_transport "t${i}" {\n  program_name = /bin/cat domain = t${i}.example\n${body}\n}\n`).join('');
  files += 1;
  const file = path.join(dir, `${files}.conf`);
  writeFileSync(file, text);
  return loadConfig(file, host);
}

async function transports(host: HostFacts, ...bodies: string[]): Promise<readonly TransportConfig[]> {
  const result = await load(host, ...bodies);
  assert.ok(result.ok, JSON.stringify(result, null, 1));
  return result.config.transports;
}

/** `line:col CODE message`, with the file name left out. */
async function errors(host: HostFacts, ...bodies: string[]): Promise<string[]> {
  const result = await load(host, ...bodies);
  assert.ok(!result.ok, `expected errors for ${bodies.join(' | ')}`);
  return result.errors.map((e) => `${e.line}:${e.column} ${e.code} ${e.message}`);
}

test('accounts: smtpipe as root, no user: the program runs as nobody (Postfix default_privs)', async () => {
  const [t] = await transports(AS_ROOT, '');
  assert.deepEqual(t?.runAs, NOBODY);
});

test('accounts: as root, allow_root = true and no user: the program keeps root (no switch)', async () => {
  const [plain, withGroup] = await transports(AS_ROOT, 'allow_root = true', 'allow_root = true group = nogroup');
  assert.equal(plain?.runAs, null);
  assert.deepEqual(withGroup?.runAs, { uid: 0, gid: NOBODY.gid });
});

test('accounts: user by name or number; group overrides the primary group; numeric pairs need no entry', async () => {
  const found = await transports(AS_ROOT, 'user = nobody', 'user = nobody group = "12345"', `user = ${NOBODY.uid}`, 'user = 54321 group = 54322');
  assert.deepEqual(found.map((t) => t.runAs), [NOBODY, { uid: NOBODY.uid, gid: 12345 }, NOBODY, { uid: 54321, gid: 54322 }]);
});

test('accounts: the result is still deep-frozen', async () => {
  const result = await load(AS_ROOT, 'user = nobody');
  assert.ok(result.ok);
  const [t] = result.config.transports;
  assert.ok(Object.isFrozen(result.config.transports) && Object.isFrozen(t) && Object.isFrozen(t?.runAs));
});

test('accounts: unknown user and group are errors at their values, every one reported', async () => {
  assert.deepEqual(await errors(AS_ROOT, 'user = smtpipe-no-such-user', 'group = smtpipe-no-such-group', 'user = 54321'), [
    '4:8 ERR_CONFIG_UNKNOWN_USER user: no user "smtpipe-no-such-user" on this host (getent passwd)',
    '8:9 ERR_CONFIG_UNKNOWN_GROUP group: no group "smtpipe-no-such-group" on this host (getent group)',
    '12:8 ERR_CONFIG_UNKNOWN_USER user: uid 54321 has no passwd entry to take a primary group from; set group as well',
  ]);
});

test('accounts: root (uid or gid 0) only with allow_root = true', async () => {
  assert.deepEqual(await errors(AS_ROOT, 'user = root', 'user = 0 group = 0', 'user = nobody group = root', 'group = 0'), [
    `4:8 ERR_CONFIG_PROGRAM_AS_ROOT user "root" is uid 0: the program would run with root's privileges; set allow_root = true if it must`,
    `8:8 ERR_CONFIG_PROGRAM_AS_ROOT user 0 is uid 0: the program would run with root's privileges; set allow_root = true if it must`,
    `12:23 ERR_CONFIG_PROGRAM_AS_ROOT group "root" is gid 0: the program would run with root's privileges; set allow_root = true if it must`,
    `16:9 ERR_CONFIG_PROGRAM_AS_ROOT group 0 is gid 0: the program would run with root's privileges; set allow_root = true if it must`,
  ]);
  const allowed = await transports(AS_ROOT, 'user = root allow_root = true', 'user = nobody group = 0 allow_root = true');
  assert.deepEqual(allowed.map((t) => t.runAs), [null, { uid: NOBODY.uid, gid: 0 }]);
});

test('accounts: smtpipe not root: its own ids only, and no nobody default', async () => {
  const [plain, own] = await transports(AS_USER, '', 'user = 1000 group = 1000');
  assert.deepEqual([plain?.runAs, own?.runAs], [null, null]);
  assert.deepEqual(await errors(AS_USER, 'user = nobody', 'user = 1000 group = 1001'), [
    `4:8 ERR_CONFIG_NEEDS_ROOT user "nobody" is uid ${NOBODY.uid}, but smtpipe runs with uid 1000: switching needs smtpipe to start as root`,
    '8:21 ERR_CONFIG_NEEDS_ROOT group 1001 is gid 1001, but smtpipe runs with gid 1000: switching needs smtpipe to start as root',
  ]);
});

test('accounts: directory must exist and be a directory', async () => {
  const file = path.join(dir, 'a-file');
  writeFileSync(file, '');
  const [t] = await transports(AS_ROOT, `directory = "${dir}"`);
  assert.equal(t?.directory?.text, dir);
  assert.deepEqual(await errors(AS_ROOT, `directory = "${dir}/missing"`, `directory = "${file}"`), [
    `4:13 ERR_CONFIG_DIRECTORY directory: ${dir}/missing does not exist`,
    `8:13 ERR_CONFIG_DIRECTORY directory: ${file} is not a directory`,
  ]);
  // Several problems in one transport: in the order they are written.
  assert.deepEqual(await errors(AS_ROOT, `user = smtpipe-no-such-user\ndirectory = "${dir}/missing"`, 'group = nogroup user = smtpipe-no-such-user'), [
    '4:8 ERR_CONFIG_UNKNOWN_USER user: no user "smtpipe-no-such-user" on this host (getent passwd)',
    `5:13 ERR_CONFIG_DIRECTORY directory: ${dir}/missing does not exist`,
    '9:24 ERR_CONFIG_UNKNOWN_USER user: no user "smtpipe-no-such-user" on this host (getent passwd)',
  ]);
});

test('accounts: schema errors come first: no lookups for a config the schema refused', async () => {
  assert.deepEqual(await errors(AS_ROOT, 'user = smtpipe-no-such-user umask = 0800'), [
    '4:37 ERR_CONFIG_INVALID_VALUE umask: expected an octal umask from 0000 to 0777 like 0027, got "0800"',
  ]);
});

test('accounts: the bundled config/smtpipe.conf loads as root (its program as nobody) and as a user', async () => {
  const { file } = await hostedBundledConfig();
  const asRoot = await loadConfig(file, AS_ROOT);
  const asUser = await loadConfig(file, AS_USER);
  assert.ok(asRoot.ok && asUser.ok);
  assert.deepEqual([asRoot.config.transports[0]?.runAs, asUser.config.transports[0]?.runAs], [NOBODY, null]);
});
