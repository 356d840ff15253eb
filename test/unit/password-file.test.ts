// Auth_Password_File: the hash format (written by hashPassword, checked by
// verifyPassword), problems at file:line through loadConfig, and the AUTH option rules.
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { formatDiagnostic, loadConfig, parseConfigText } from '../../src/config/load.js';
import { formatPasswordHash, parsePasswordFile, parsePasswordHash } from '../../src/config/password-file.js';
import { hashPassword, verifyPassword } from '../../src/smtp/password-check.js';

const TRANSPORT = 'pipe_transport "t" { program_name = "/bin/cat" domain = ( "x.test" ) }';

test('a hash survives format and parse, and verifies only its password', async () => {
  const text = formatPasswordHash(await hashPassword('s3cret'));
  assert.match(text, /^\$scrypt\$N=16384,r=8,p=1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
  const hash = parsePasswordHash(text);
  assert.ok(typeof hash !== 'string', String(hash));
  assert.equal(await verifyPassword('s3cret', hash), true);
  assert.equal(await verifyPassword('s3cret ', hash), false);
});

test('bad hashes say why', () => {
  const salt = Buffer.alloc(16).toString('base64');
  const key = Buffer.alloc(32).toString('base64');
  for (const [text, why] of [
    ['plain', /expected \$scrypt\$/],
    [`$scrypt$N=1000,r=8,p=1$${salt}$${key}`, /power of 2/],
    [`$scrypt$N=1048576,r=8,p=1$${salt}$${key}`, /MiB per check/],
    [`$scrypt$N=16384,r=8,p=1$${Buffer.alloc(8).toString('base64')}$${key}`, /salt is 8 bytes/],
  ] as const) {
    assert.match(String(parsePasswordHash(text)), why);
  }
});

test('a password file: comments and blanks skipped, problems by line', () => {
  const good = `$scrypt$N=16384,r=8,p=1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;
  const { users, problems } = parsePasswordFile(`# users\n\nalice:${good}\r\nno colon\n-x:${good}\nalice:${good}\nbob:junk\n`);
  assert.deepEqual([...users.keys()], ['alice']);
  assert.deepEqual(problems.map((p) => p.line), [4, 5, 6, 7]);
});

test('loadConfig: a broken password file is ERR_CONFIG_AUTH at its own file:line', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-auth-'));
  await writeFile(path.join(dir, 'passwords'), `alice:${formatPasswordHash(await hashPassword('x'))}\nbob:nope\n`);
  const conf = path.join(dir, 'smtpipe.conf');
  await writeFile(conf, `ESMTP_Listener { Listen "127.0.0.1:0" { SMTP_Extensions = ( "AUTH" ) Auth_Allow_Plaintext = true Auth_Password_File = "passwords" } }\n${TRANSPORT}\n`);
  const result = await loadConfig(conf);
  assert.equal(result.ok, false);
  assert.deepEqual(!result.ok && result.errors.map(formatDiagnostic), [
    `${path.join(dir, 'passwords')}:2:1: error: Auth_Password_File: bob: expected $scrypt$N=<n>,r=<r>,p=<p>$<salt base64>$<key base64> (smtpipe passwd writes one) [ERR_CONFIG_AUTH]`,
  ]);
  await writeFile(path.join(dir, 'passwords'), `alice:${formatPasswordHash(await hashPassword('x'))}\n`);
  const ok = await loadConfig(conf);
  assert.ok(ok.ok);
  assert.deepEqual([...(ok.config.listeners[0]?.auth?.users?.keys() ?? [])], ['alice']);
});

test('AUTH rules: needs a password file and TLS (or Auth_Allow_Plaintext); Require_Auth needs AUTH', () => {
  const errors = (listen: string) => {
    const result = parseConfigText(`ESMTP_Listener { Listen "127.0.0.1:0" { ${listen} } }\n${TRANSPORT}`, 'f.conf');
    return result.ok ? [] : result.errors.map((e) => e.message);
  };
  assert.match(errors('SMTP_Extensions = ( "AUTH" ) Auth_Allow_Plaintext = true').join(), /needs Auth_Password_File/);
  assert.match(errors('SMTP_Extensions = ( "AUTH" ) Auth_Password_File = "p"').join(), /offered only over TLS/);
  assert.match(errors('Require_Auth = true').join(), /Require_Auth = true needs "AUTH"/);
  assert.deepEqual(errors('SMTP_Extensions = ( "AUTH" ) Auth_Password_File = "p" Auth_Allow_Plaintext = true Require_Auth = true'), []);
});
