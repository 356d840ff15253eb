// The naive design smtpipe is measured against: smtp-server spawning the program on the
// main thread with child_process.spawn, piping DATA into its stdin, replying after exit.
// Fairness (shared with ceiling.ts): fixture.ts.

import { spawn } from 'node:child_process';
import { parseServerArgs } from './args.js';
import { serveFixture } from './fixture.js';

const { port, program } = parseServerArgs(process.argv.slice(2));

serveFixture('naive', port, (stream, _session, callback) => {
  let answered = false;
  const answer = (error: Error | null) => {
    if (answered) return;
    answered = true;
    if (error) callback(Object.assign(error, { responseCode: 451 }));
    else callback(null, '2.0.0 Ok: delivered');
  };
  const child = spawn(program, [], { stdio: ['pipe', 'ignore', 'ignore'] });
  // EPIPE when the program does not read everything: its exit status decides.
  child.stdin.on('error', () => {});
  child.once('error', (err) => {
    stream.resume();
    answer(new Error(`4.3.0 program could not be started: ${err.message}`));
  });
  child.once('exit', (code, signal) => {
    // smtp-server holds the reply until DATA was read to the end; keep it flowing.
    // Unpiped first: stdin's later 'close' would otherwise unpipe, and so pause, DATA
    // after this resume, and a program that did not read it all left the client hanging.
    stream.unpipe(child.stdin);
    stream.resume();
    answer(code === 0 ? null : new Error(`4.3.0 program ended with ${signal ?? `exit status ${code}`}`));
  });
  stream.pipe(child.stdin);
});
