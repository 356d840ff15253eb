// The README quick start's demo transport (config/smtpipe.conf): the message lands in
// demo/smtpipe-demo.out under the daemon's working directory, never in a shared /tmp file.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { scratchDir } from '../helpers/daemon.js';
import { repoRoot } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');

test('the bundled demo transport appends to demo/smtpipe-demo.out in the working directory', async () => {
  const dir = await scratchDir();
  // A checkout as root has it (tests run as root): 0755, so the demo's user (nobody) could
  // not create demo/ itself; npm start's prestart step (scripts/demo-dir.mjs) makes it.
  await chmod(dir, 0o755);
  const prestart = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'demo-dir.mjs')], { cwd: dir, stdio: 'inherit' });
  assert.equal((await once(prestart, 'exit'))[0], 0);
  const shipped = await readFile(path.join(repoRoot, 'config', 'smtpipe.conf'), 'utf8');
  assert.match(shipped, /Listen "127\.0\.0\.1:2525"/);
  const file = path.join(dir, 'smtpipe.conf');
  // The bundled config as it is, on an ephemeral port.
  await writeFile(file, shipped.replace('Listen "127.0.0.1:2525"', 'Listen "127.0.0.1:0"'));
  const child = spawn(process.execPath, [CLI, '-c', file], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve) => {
      createInterface({ input: child.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; listeners?: string[] };
        if (entry.msg === 'listening') resolve(Number(String(entry.listeners?.[0]).split(':').pop()));
      });
    });
    const client = await openSession(port);
    const reply = await client.sendMail('me@example.org', ['someone@example.com'], 'Subject: hello\r\n\r\nHello.');
    await client.quit();
    assert.equal(reply.code, 250, reply.line);
    const out = await readFile(path.join(dir, 'demo', 'smtpipe-demo.out'), 'utf8');
    assert.match(out, /^Received: /);
    assert.match(out, /Subject: hello\r?\n\r?\nHello\./);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
});
