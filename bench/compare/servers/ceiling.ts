// The SMTP ceiling: smtp-server accepting and discarding every message, no program, no
// pool. Fairness: our PipeServer subclass (src/smtp/connection.ts) with greetingPauseMs 0,
// because upstream waits a hard-coded 100 ms before each 220; reverse DNS off.

import { PipeServer } from '../../../src/smtp/connection.js';
import { parseServerArgs } from './args.js';

const { port } = parseServerArgs(process.argv.slice(2));

const server = new PipeServer<never>({
  greetingPauseMs: 0,
  smtp: {
    name: 'ceiling.localdomain',
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
      stream.on('end', () => callback(null, '2.0.0 Ok: discarded'));
      stream.resume();
    },
  },
});
server.on('error', () => {
  // A client reset mid-session is routine under load; nothing to do about it here.
});
server.listen(port, '127.0.0.1');
// A benchmark fixture: no drain, the orchestrator stops it between systems.
process.once('SIGTERM', () => process.exit(0));
