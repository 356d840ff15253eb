// Per-transport privileges end to end: a message over SMTP reaches a program running under
// the transport's user, group, directory and umask. Switching ids needs root (CI is root).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, chown, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

const ROOT_ONLY = process.getuid?.() === 0 ? {} : { skip: 'needs root: only root may switch uid and gid' };

describe('per-transport privileges over SMTP', ROOT_ONLY, () => {
  let daemon: TestDaemon;
  /** Any user may enter it and run the copy of print-identity.sh inside. */
  let openDir: string;
  /** Owned by nobody: output_file is opened as the program's user, who must be able to create it. */
  let outDir: string;
  const [, , nobodyUid, nobodyGid] = execFileSync('getent', ['passwd', 'nobody'], { encoding: 'utf8' }).split(':');

  before(async () => {
    openDir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-privileges-'));
    await chmod(openDir, 0o755);
    const identity = path.join(openDir, 'print-identity.sh');
    await copyFile(fixture('programs', 'print-identity.sh'), identity);
    await chmod(identity, 0o755);
    outDir = await mkdtemp(path.join(os.tmpdir(), 'smtpipe-privileges-out-'));
    await chmod(outDir, 0o755);
    await chown(outDir, Number(nobodyUid), Number(nobodyGid));
    daemon = await startDaemon(`
      ESMTP_Listener { Listen "127.0.0.1:0" { } }
      pipe_transport "nobody" {
        program_name = "${identity}" domain = ( "nobody.test" ) output_file = "${outDir}/nobody.out"
        user = "nobody" directory = "${openDir}" umask = 0027
      }
      pipe_transport "default" { program_name = "${identity}" domain = ( "default.test" ) output_file = "${outDir}/default.out" }
      pipe_transport "root" { program_name = "${identity}" domain = ( "root.test" ) output_file = "${outDir}/root.out" allow_root = true }
    `);
  });
  after(async () => {
    await daemon?.stop();
    await rm(openDir, { recursive: true, force: true });
    await rm(outDir, { recursive: true, force: true });
  });

  /** Delivers one message to `domain`; returns the reply code and what the program printed. */
  async function identityAt(domain: string): Promise<{ code: number; lines: string[] }> {
    const client = await openSession(daemon.port);
    try {
      const reply = await client.sendMail('sender@origin.test', [`someone@${domain}`], 'Subject: who\r\n\r\nhello\r\n');
      const out = await readFile(path.join(outDir, `${domain.split('.')[0]}.out`), 'utf8');
      return { code: reply.code, lines: out.split('\n').slice(0, 5) };
    } finally {
      await client.quit();
    }
  }

  test('user = "nobody", directory and umask: the program runs as nobody, there, with that mask', async () => {
    const { code, lines } = await identityAt('nobody.test');
    assert.equal(code, 250);
    assert.deepEqual(lines, [nobodyUid, nobodyGid, nobodyGid, openDir, '0027']);
  });

  test('no user while smtpipe runs as root: the program runs as nobody all the same', async () => {
    const { code, lines } = await identityAt('default.test');
    assert.equal(code, 250);
    assert.deepEqual(lines.slice(0, 2), [nobodyUid, nobodyGid]);
  });

  test('allow_root = true and no user: the program keeps root', async () => {
    const { code, lines } = await identityAt('root.test');
    assert.equal(code, 250);
    assert.equal(lines[0], '0');
  });
});
