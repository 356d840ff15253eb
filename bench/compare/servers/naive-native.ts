// The naive design with smtpipe's native spawner instead of child_process.spawn: the
// program is started on the main thread at DATA, DATA is piped into its stdin, the reply
// waits for the exit. No pool, no policy, no log line, no metrics. It is the leanest
// smtp-server design that uses the same spawner, so smtpipe's distance to it is what
// smtpipe's own path (session -> pool -> worker -> reply) costs. Fairness: fixture.ts.

import { loadSpawnAddon } from '../../../native/addons.js';
import { createNativeSpawner } from '../../../workers/spawners/native.js';
import { parseServerArgs } from './args.js';
import { serveFixture } from './fixture.js';

const { port, program } = parseServerArgs(process.argv.slice(2));

const loaded = loadSpawnAddon();
if (!loaded.ok) throw new Error(`native spawner unavailable: ${loaded.reason}`);
const spawner = createNativeSpawner(loaded.addon);
// Output to /dev/null, no identity, directory or umask change: as naive.ts's child.
const spec = {
  file: program,
  args: [],
  env: { PATH: '/usr/bin:/bin' },
  stdout: null,
  stderr: null,
  runAs: null,
  cwd: null,
  umask: null,
  stdinFile: null,
  capture: { stdout: false, stderr: false },
};

serveFixture('naive-native', port, (stream, _session, callback) => {
  const fail = (text: string) => {
    // smtp-server holds the reply until DATA was read to the end; keep it flowing.
    stream.resume();
    callback(Object.assign(new Error(`4.3.0 ${text}`), { responseCode: 451 }));
  };
  spawner.startProgram(spec).then(
    (started) => {
      if (!started.ok) return fail(`program could not be started: ${started.message}`);
      const { exited } = started.program;
      const stdin = started.program.stdin!; // no stdinFile: always a pipe
      // EPIPE when the program does not read everything: its exit status decides.
      stdin.on('error', () => {});
      stream.pipe(stdin);
      return exited.then(({ exitCode, signal }) => {
        // As in naive.ts: unpiped before the resume that drains the rest of DATA.
        stream.unpipe(stdin);
        stream.resume();
        if (exitCode === 0) callback(null, '2.0.0 Ok: delivered');
        else fail(`program ended with ${signal ?? `exit status ${exitCode}`}`);
      });
    },
    (err: Error) => fail(err.message),
  );
});
