// TLS_Certificate / TLS_Key as loadConfig reads them: real files, errors at the option.
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createDiagnosticSink } from '../../src/config/diagnostics.js';
import { currentHostFacts, loadConfig, parseConfigText } from '../../src/config/load.js';
import { readTlsFiles } from '../../src/config/tls-files.js';
import { makeFifo, withinMs } from '../helpers/fifo.js';
import { fixture } from '../helpers/paths.js';

const host = { ...currentHostFacts(), hostname: 'mx.test', parallelism: 2 };
const TRANSPORT = 'pipe_transport "t" { program_name = "/bin/cat" domain = "t.example" }\n';

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'smtpipe-tls-'));
  for (const [name, source] of Object.entries(files)) await copyFile(fixture('tls', source), path.join(dir, name));
  return dir;
}

async function load(dir: string, certificate: string, key: string) {
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(
    file,
    `ESMTP_Listener {\n  Listen "127.0.0.1:0" {\n    Use_SSL = true\n    TLS_Certificate = "${certificate}"\n    TLS_Key = "${key}"\n  }\n}\n${TRANSPORT}`,
  );
  return loadConfig(file, host);
}

const problems = (result: Awaited<ReturnType<typeof load>>) =>
  (result.ok ? [] : result.errors).map((e) => `${path.basename(e.file)}:${e.line}:${e.column} ${e.code} ${e.message.replace(/\(.*\)$/, '(...)')}`);

test('tls: a matching pair is read into the config, relative to the config file', async () => {
  const dir = await dirWith({ 'mx.crt': 'mx-a.crt', 'mx.key': 'mx-a.key' });
  const result = await load(dir, 'mx.crt', path.join(dir, 'mx.key'));
  assert.ok(result.ok, JSON.stringify(result));
  const tls = result.config.listeners[0]?.tls;
  assert.match(tls?.certificatePem ?? '', /^-----BEGIN CERTIFICATE-----/);
  assert.match(tls?.keyPem ?? '', /PRIVATE KEY-----/);
  assert.deepEqual(result.warnings, []);
});

test('tls: missing, unreadable, not PEM and mismatched files are errors at their option', async () => {
  const dir = await dirWith({ 'a.crt': 'mx-a.crt', 'b.key': 'mx-b.key' });
  await writeFile(path.join(dir, 'junk.pem'), 'not a certificate\n');
  assert.deepEqual(problems(await load(dir, 'nope.crt', 'nope.key')), [
    `smtpipe.conf:4:23 ERR_CONFIG_TLS TLS_Certificate: cannot read ${dir}/nope.crt (...)`,
    `smtpipe.conf:5:15 ERR_CONFIG_TLS TLS_Key: cannot read ${dir}/nope.key (...)`,
  ]);
  assert.deepEqual(problems(await load(dir, 'junk.pem', 'b.key')), [
    'smtpipe.conf:4:23 ERR_CONFIG_TLS TLS_Certificate: junk.pem is not a PEM certificate (...)',
  ]);
  assert.deepEqual(problems(await load(dir, 'a.crt', 'junk.pem')), [
    'smtpipe.conf:5:15 ERR_CONFIG_TLS TLS_Key: junk.pem is not a PEM private key (...)',
  ]);
  assert.deepEqual(problems(await load(dir, 'a.crt', 'b.key')), [
    'smtpipe.conf:5:15 ERR_CONFIG_TLS TLS_Key: b.key does not match a.crt (...)',
  ]);
  if (process.getuid?.() !== 0) {
    await chmod(path.join(dir, 'b.key'), 0);
    assert.match(problems(await load(dir, 'a.crt', 'b.key'))[0] ?? '', /cannot read .*EACCES/);
  }
});

test('tls: a FIFO or a device as TLS_Key / TLS_Certificate is an error at the option, at once', async () => {
  const dir = await dirWith({ 'a.crt': 'mx-a.crt' });
  const fifo = makeFifo(path.join(dir, 'key.fifo'));
  // Before the fix the load waited for a writer to open the FIFO.
  const result = await withinMs(load(dir, 'a.crt', 'key.fifo'), 5000, 'loadConfig', [fifo]);
  assert.deepEqual(problems(result), [`smtpipe.conf:5:15 ERR_CONFIG_TLS TLS_Key: ${fifo} is a FIFO, not a regular file`]);
  assert.deepEqual(problems(await load(dir, '/dev/null', 'key.fifo')), [
    'smtpipe.conf:4:23 ERR_CONFIG_TLS TLS_Certificate: /dev/null is a character device, not a regular file',
    `smtpipe.conf:5:15 ERR_CONFIG_TLS TLS_Key: ${fifo} is a FIFO, not a regular file`,
  ]);
});

test('tls: a certificate outside its validity period loads with a warning', async () => {
  const dir = await dirWith({ 'mx.crt': 'mx-a.crt', 'mx.key': 'mx-a.key' });
  const text = `ESMTP_Listener { Listen ":0" { Use_SSL = true TLS_Certificate = "${dir}/mx.crt" TLS_Key = "${dir}/mx.key" } }\n${TRANSPORT}`;
  const parsed = parseConfigText(text, path.join(dir, 'f.conf'), host);
  assert.ok(parsed.ok);
  const sink = createDiagnosticSink();
  await readTlsFiles(parsed.config.listeners, sink, new Date('2200-01-01T00:00:00Z'));
  assert.deepEqual(sink.errors, []);
  assert.deepEqual(sink.warnings.map((w) => w.code), ['WARN_CONFIG_TLS_VALIDITY']);
  assert.match(sink.warnings[0]?.message ?? '', /is valid from 2026-.* to 2126-.*, not now/);
});

test("tls: a relative path in an included file is taken from that file's directory", async () => {
  const dir = await dirWith({});
  await mkdir(path.join(dir, 'listeners'));
  await copyFile(fixture('tls', 'mx-a.crt'), path.join(dir, 'listeners', 'mx.crt'));
  await copyFile(fixture('tls', 'mx-a.key'), path.join(dir, 'listeners', 'mx.key'));
  await writeFile(
    path.join(dir, 'listeners', 'tls.conf'),
    'ESMTP_Listener { Listen "127.0.0.1:0" { Use_SSL = true TLS_Certificate = "mx.crt" TLS_Key = "mx.key" } }\n',
  );
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, `include "listeners/tls.conf"\n${TRANSPORT}`);
  const result = await loadConfig(file, host);
  assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.errors));
  assert.match(result.config.listeners[0]?.tls?.certificatePem ?? '', /BEGIN CERTIFICATE/);
});

test('tls: TLS_Client_CA is read with the pair (regular files only, PEM certificates only)', async () => {
  const dir = await dirWith({ 'mx.crt': 'mx-a.crt', 'mx.key': 'mx-a.key', 'ca.pem': 'client-ca.crt' });
  await writeFile(path.join(dir, 'junk.pem'), 'not a certificate\n');
  const fifo = makeFifo(path.join(dir, 'ca.fifo'));
  const file = path.join(dir, 'smtpipe.conf');
  const withCa = async (ca: string) => {
    await writeFile(
      file,
      `ESMTP_Listener {\n  Listen "127.0.0.1:0" {\n    Use_SSL = true TLS_Certificate = "mx.crt" TLS_Key = "mx.key"\n    TLS_Verify_Mode = require\n    TLS_Client_CA = "${ca}"\n  }\n}\n${TRANSPORT}`,
    );
    return withinMs(loadConfig(file, host), 5000, 'loadConfig', [fifo]);
  };
  const good = await withCa('ca.pem');
  assert.ok(good.ok, JSON.stringify(good));
  assert.equal(good.config.listeners[0]?.tls?.clientCaPem, await readFile(fixture('tls', 'client-ca.crt'), 'utf8'));
  assert.deepEqual(good.warnings, []);
  assert.deepEqual(problems(await withCa('ca.fifo')), [`smtpipe.conf:5:21 ERR_CONFIG_TLS TLS_Client_CA: ${fifo} is a FIFO, not a regular file`]);
  assert.deepEqual(problems(await withCa('junk.pem')), ['smtpipe.conf:5:21 ERR_CONFIG_TLS TLS_Client_CA: junk.pem holds no PEM certificate']);
  assert.deepEqual(problems(await withCa('missing.pem')), [`smtpipe.conf:5:21 ERR_CONFIG_TLS TLS_Client_CA: cannot read ${dir}/missing.pem (...)`]);
});
