// The naive design smtpipe is measured against: smtp-server spawning the program on the
// main thread with child_process.spawn, piping DATA into its stdin, replying after exit.
// Same fairness as ceiling.ts: PipeServer with greetingPauseMs 0, reverse DNS off.

import { spawn } from 'node:child_process';
import { PipeServer } from '../../../src/smtp/connection.js';
import { parseServerArgs } from './args.js';

const { port, program } = parseServerArgs(process.argv.slice(2));

const server = new PipeServer<never>({
  greetingPauseMs: 0,
  smtp: {
    name: 'naive.localdomain',
    disabledCommands: ['AUTH', 'STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onData(stream, _session, callback) {
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
    },
  },
});
server.on('error', () => {
  // A client reset mid-session is routine under load; nothing to do about it here.
});
server.listen(port, '127.0.0.1');
// A benchmark fixture: no drain, the orchestrator stops it between systems.
process.once('SIGTERM', () => process.exit(0));
