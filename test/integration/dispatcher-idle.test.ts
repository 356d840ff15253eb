// Dispatcher.idle(): the event a forced stop waits on (src/ops/shutdown.ts) instead of
// polling inFlight. A real pool, a real program that runs for a while.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { createDispatcher, type DeliveryRequest } from '../../src/delivery/dispatcher.js';
import type { Received } from '../../src/message/message-store.js';
import { createQueueIdGenerator } from '../../src/delivery/queue-id.js';
import { createDeliveryPool } from '../../src/pool/pool.js';
import { scratchDir, writeConfig } from '../helpers/daemon.js';
import { fixture } from '../helpers/paths.js';

test('idle() resolves at once with nothing in flight, and when the last delivery is answered', async () => {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeConfig(
    file,
    `ESMTP_Listener { Listen "127.0.0.1:0" { } }
     pipe_transport "t" { allow_root = true  program_name = "${fixture('programs', 'sleep.sh')} 1"  domain = ( "x.test" ) }`,
    dir,
  );
  const loaded = await loadConfig(file);
  assert.ok(loaded.ok);
  const pool = createDeliveryPool(loaded.config);
  const dispatcher = createDispatcher({ pool, logger: pino({ level: 'silent' }), nextQueueId: createQueueIdGenerator(), observer: { delivery() {} } });
  try {
    await dispatcher.idle();
    const [transport] = loaded.config.transports;
    assert.ok(transport);
    const request = (): DeliveryRequest => ({
      transport,
      sender: 'a@x.test',
      recipients: ['b@x.test'],
      maxReceivedHeaders: 50,
      sessionId: 's',
      scope: {},
      clientAddress: '127.0.0.1',
      clientHelo: 'client.test',
      protocol: 'ESMTP',
      receivedBy: 'mx.test',
      bareNewlines: 'reject',
      smtputf8: false,
      authUser: null,
      tls: null,
      clientCertificate: null,
    });
    // What the message store hands over for a small message: its bytes, released once.
    const received = (): Received => {
      const bytes = new TextEncoder().encode('hi\r\n').buffer as ArrayBuffer;
      return {
        kind: 'stored',
        wireBytes: bytes.byteLength,
        headers: { receivedHeaders: 0, deliveredTo: [] },
        message: { kind: 'bytes', bytes, size: bytes.byteLength, release() {} },
      };
    };
    const deliver = () => dispatcher.open(request()).deliver(received(), new AbortController().signal);
    const replies = Promise.all([deliver(), deliver()]);
    assert.equal(dispatcher.inFlight, 2);
    await dispatcher.idle();
    // Resolved by the last program's end, not before: nothing is left in flight.
    assert.equal(dispatcher.inFlight, 0);
    assert.deepEqual((await replies).map((reply) => reply.code), [250, 250]);
  } finally {
    await pool.close();
  }
});
