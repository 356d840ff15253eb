// Writing the same buffer into a child's stdin, N at once, through the spawner module
// smtpipe's workers use: start the program, write the payload, await its exit (then kill its
// group, as smtpipe does). The bandwidth baseline for large messages; with a small payload
// also a spawn loop when bench/spawn-loop.ts is not built. Prints one JSON line.
//
// usage: node stdin-bandwidth.js --spawner child_process|native -c N -d SECONDS --stdin-bytes B [--program /bin/cat]

import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createSpawner } from '../../workers/spawners/select.js';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    spawner: { type: 'string', default: 'child_process' },
    connections: { type: 'string', short: 'c', default: '1' },
    duration: { type: 'string', short: 'd', default: '5' },
    'stdin-bytes': { type: 'string', default: '2048' },
    program: { type: 'string', default: '/bin/cat' },
  },
  strict: true,
});
const spawnerName = values.spawner === 'native' ? 'native' : 'child_process';
const concurrency = Number(values.connections);
const seconds = Number(values.duration);
const stdinBytes = Number(values['stdin-bytes']);

const payload = Buffer.alloc(stdinBytes, 'x');
for (let i = 79; i < stdinBytes; i += 80) payload[i] = 0x0a;
const env = { PATH: '/usr/local/bin:/usr/bin:/bin' };

async function main(): Promise<void> {
  let spawner;
  try {
    spawner = createSpawner(spawnerName);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ unavailable: (err as Error).message })}\n`);
    process.exitCode = 3;
    return;
  }
  const latenciesMs: number[] = [];
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const started = await spawner.startProgram({ file: values.program, args: [], env, stdout: null, stderr: null, runAs: null, cwd: null, umask: null, stdinFile: null, capture: { stdout: false, stderr: false } });
      if (!started.ok) throw new Error(`${values.program} could not be started: ${started.errorCode} ${started.message}`);
      const { program } = started;
      const stdin = program.stdin!; // no stdinFile: always a pipe
      stdin.end(payload);
      // EPIPE or a stream destroyed at exit: the exit status decides, as in smtpipe.
      await Promise.all([finished(stdin).catch(() => undefined), program.exited]);
      program.killGroup('SIGKILL');
      latenciesMs.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - start) / 1000;
  latenciesMs.sort((a, b) => a - b);
  const pick = (p: number) => latenciesMs[Math.min(latenciesMs.length - 1, Math.round((p / 100) * (latenciesMs.length - 1)))] ?? 0;
  const result = {
    spawns: latenciesMs.length,
    seconds: elapsed,
    spawnsPerSecond: latenciesMs.length / elapsed,
    p50Ms: pick(50),
    p99Ms: pick(99),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  console.error('stdin-bandwidth:', err);
  process.exitCode = 1;
});
