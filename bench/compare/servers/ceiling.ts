// The SMTP ceiling: smtp-server accepting and discarding every message, no program, no
// pool. Fairness (shared with naive.ts and naive-native.ts): fixture.ts.

import { parseServerArgs } from './args.js';
import { serveFixture } from './fixture.js';

const { port } = parseServerArgs(process.argv.slice(2));

serveFixture('ceiling', port, (stream, _session, callback) => {
  stream.on('end', () => callback(null, '2.0.0 Ok: discarded'));
  stream.resume();
});
