// 100 parallel connections: every 250 is one program run and every message arrives
// byte-exact; no reply is lost or doubled.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';
import { openSession } from '../helpers/smtp-client.js';

test('100 parallel connections, 3 messages each: runs == 250 replies, bodies byte-exact', async () => {
  const daemon = await startDaemon(`
    Pool_Threads = 2
    ESMTP_Listener { Listen "127.0.0.1:0" { } }
    pipe_transport "copy" {
      allow_root = true
      program_name = "${fixture('programs', 'cat-to-file.sh')} {{dir}}/\${queue_id}.eml"
      domain = ( "copy.test" )
      concurrency = 16
      received_header = false
    }
  `);
  try {
    const expected = new Map<string, string>();
    await Promise.all(
      Array.from({ length: 100 }, async (_, connection) => {
        const client = await openSession(daemon.port);
        for (let n = 0; n < 3; n++) {
          const body = `Message-ID: <${connection}.${n}@test>\r\n\r\n${`line ${connection}/${n} `.repeat(connection * 7 + n)}\r\n.leading dot\r\n`;
          const reply = await client.sendMail('a@origin.test', [`r${connection}@copy.test`], body);
          assert.equal(reply.code, 250, reply.line);
          const queueId = /queued as ([0-9A-Z]+)$/.exec(reply.line)?.[1] as string;
          assert.ok(!expected.has(queueId), 'queue IDs are unique');
          expected.set(queueId, body.replaceAll('\r\n', '\n'));
        }
        await client.quit();
      }),
    );
    const files = (await readdir(daemon.dir)).filter((f) => f.endsWith('.eml'));
    assert.equal(files.length, 300);
    assert.equal(daemon.logs.filter((l) => l.msg === 'delivery' && l.exitCode === 0).length, 300);
    for (const [queueId, body] of expected) {
      assert.equal(await readFile(path.join(daemon.dir, `${queueId}.eml`), 'utf8'), body);
    }
  } finally {
    await daemon.stop();
  }
});
