// What the comparison's stand-alone smtp-server fixtures share, in one place so that they
// stay equally fair: smtpipe's PipeServer with no greeting pause (upstream waits a
// hard-coded 100 ms before every 220, which alone would cap a one-connection-per-message
// client at 10 msgs/s per connection), reverse DNS off, no AUTH or STARTTLS, no logging,
// 127.0.0.1 only.

import type { SMTPServerOptions } from 'smtp-server';
import { PipeServer } from '../../../src/smtp/connection.js';

export type OnData = NonNullable<SMTPServerOptions['onData']>;

export function serveFixture(name: string, port: number, onData: OnData): void {
  const server = new PipeServer<never>({
    greetingPauseMs: 0,
    smtp: {
      name: `${name}.localdomain`,
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      disableReverseLookup: true,
      logger: false,
      onData,
    },
  });
  server.on('error', () => {
    // A client reset mid-session is routine under load; nothing to do about it here.
  });
  server.listen(port, '127.0.0.1');
  // A benchmark fixture: no drain, the orchestrator stops it between systems.
  process.once('SIGTERM', () => process.exit(0));
}
