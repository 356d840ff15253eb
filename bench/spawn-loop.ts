// Program runs per second through one spawner: /bin/cat fed 2 KB of stdin, N at once, from
// the main thread, optionally with memory held in Buffers (what makes child_process's
// fork() slower and slower: ~34 us of CPU per MB held per spawn, docs/design.md,
// "Spawning programs without fork"). One JSON line per measurement, so runs
// can be diffed. Not part of `npm test`: figures depend on the machine.
//
// Usage: npm run bench:spawn (builds the bench workspace, runs dist/bench/spawn-loop.js)
//          [--spawner native,child_process] [--hold-mb 0,1024] [--concurrency 8] [--seconds 5]

import { parseArgs } from 'node:util';
import { runProgram } from '../workers/run-program.js';
import { createSpawner } from '../workers/spawners/select.js';
import type { SpawnerName } from '../src/pool/spawner.js';

const MIB = 1024 * 1024;
const BODY = Buffer.alloc(2048, 'x');

interface Measurement {
  readonly spawner: SpawnerName;
  readonly heldMb: number;
  readonly concurrency: number;
  readonly runs: number;
  readonly runsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** This process's CPU (user + system) per run: fork's page-table copy lands here, and
   * unlike the rate it hardly moves when other processes share the CPUs. */
  readonly cpuMsPerRun: number;
  readonly failures: number;
}

/** Buffers outside the V8 heap, every page touched so that it is really resident. */
function holdMemory(mb: number): Buffer[] {
  return Array.from({ length: mb }, (_, i) => Buffer.allocUnsafe(MIB).fill(i & 0xff));
}

async function measure(spawner: SpawnerName, heldMb: number, concurrency: number, seconds: number): Promise<Measurement> {
  const spawnerUsed = createSpawner(spawner);
  const durations: number[] = [];
  let failures = 0;
  let measuring = false;
  let stopAt = performance.now() + 1_000; // warm-up first
  const loop = async (): Promise<void> => {
    while (performance.now() < stopAt) {
      const startedAt = performance.now();
      const outcome = await runProgram(spawnerUsed, {
        file: '/bin/cat', args: [], env: {}, stdout: null, stderr: null, runAs: null, cwd: null, umask: null, stdinFile: null,
        capture: { stdout: false, stderr: false }, replyFromOutput: 'none',
        body: BODY, timeoutMs: 10_000, killGraceMs: 1_000,
      });
      const ok = outcome.kind === 'exited' && outcome.exitCode === 0 && outcome.stdinError === null;
      if (!measuring) continue;
      if (ok) durations.push(performance.now() - startedAt);
      else failures += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  measuring = true;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  stopAt = startedAt + seconds * 1_000;
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedS = (performance.now() - startedAt) / 1_000;
  const cpu = process.cpuUsage(cpuBefore);
  durations.sort((a, b) => a - b);
  const at = (q: number): number => Math.round((durations[Math.floor(q * (durations.length - 1))] ?? NaN) * 100) / 100;
  return {
    spawner, heldMb, concurrency, runs: durations.length,
    runsPerSecond: Math.round(durations.length / elapsedS), p50Ms: at(0.5), p99Ms: at(0.99),
    cpuMsPerRun: Math.round((cpu.user + cpu.system) / 10 / Math.max(1, durations.length)) / 100, failures,
  };
}

const { values } = parseArgs({
  options: {
    spawner: { type: 'string', default: 'native,child_process' },
    'hold-mb': { type: 'string', default: '0,1024' },
    concurrency: { type: 'string', default: '8' },
    seconds: { type: 'string', default: '5' },
  },
});
const spawners = values.spawner.split(',').map((name) => {
  if (name !== 'native' && name !== 'child_process') throw new Error(`--spawner: unknown ${name}`);
  return name;
});
for (const heldMb of values['hold-mb'].split(',').map(Number)) {
  // The same memory for every spawner of this round; the round's references die with it.
  const held = holdMemory(heldMb);
  for (const spawner of spawners) {
    const result = await measure(spawner, held.length, Number(values.concurrency), Number(values.seconds));
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  held.length = 0;
}
