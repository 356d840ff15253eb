// Runs the load generator (smtp-load, the workspace in packages/smtp-load) as a child
// process with the same flags for every system and returns its JSON result. Knows the CLI contract only:
// nothing here looks inside the generator.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** smtp-load's bin, found through its package.json (the workspace link in node_modules). */
export const GENERATOR_CLI = ((): string => {
  const manifest = fileURLToPath(import.meta.resolve('smtp-load/package.json'));
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  return path.resolve(path.dirname(manifest), bin['smtp-load'] as string);
})();

/** The fields of the generator's -j output that the comparison reads. */
export interface GeneratorResult {
  readonly durationSeconds: number;
  readonly messages: { readonly sent: number; readonly ok2xx: number; readonly fail4xx: number; readonly fail5xx: number };
  readonly errors: number;
  readonly timeouts: number;
  readonly resets: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
  readonly startedAt: string;
  readonly finishedAt: string;
}

export interface GeneratorRun {
  readonly port: number;
  readonly connections: number;
  readonly size: string;
  /** Exactly one of seconds / amount. */
  readonly seconds?: number;
  readonly amount?: number;
  readonly to: string;
  /** Seconds to wait for any one reply. */
  readonly timeoutSeconds: number;
  /** Messages per connection; 1 = one connection per message. */
  readonly perConnection: number;
  /** Overall msgs/s offered (-R); absent = as fast as the server answers. */
  readonly ratePerSecond?: number;
}

export function generatorArgs(run: GeneratorRun): string[] {
  const args = ['-c', String(run.connections), '-j', '-n', '--expect-failures'];
  if (run.amount !== undefined) args.push('-a', String(run.amount));
  else args.push('-d', String(run.seconds ?? 10));
  args.push('-t', String(run.timeoutSeconds), '--size', run.size, '--per-conn', String(run.perConnection), '--to', run.to);
  if (run.ratePerSecond !== undefined) args.push('-R', String(run.ratePerSecond));
  args.push(`smtp://127.0.0.1:${run.port}`);
  return args;
}

export interface RunningGenerator {
  readonly result: Promise<GeneratorResult>;
  /** Ends it early (SIGTERM, then SIGKILL); its result then rejects. */
  kill(): void;
}

/** Starts the generator; `result` rejects with its stderr when it gives no JSON. */
export function startGenerator(run: GeneratorRun): RunningGenerator {
  if (!existsSync(GENERATOR_CLI)) throw new Error(`load generator not built: ${GENERATOR_CLI} (npm run build -w smtp-load)`);
  const child = spawn(process.execPath, [GENERATOR_CLI, ...generatorArgs(run)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  // A fixed amount at a fixed rate takes amount / rate seconds, however fast the server is.
  const paced = run.amount !== undefined && run.ratePerSecond !== undefined ? run.amount / run.ratePerSecond : 0;
  const runSeconds = run.seconds ?? Math.max(60, paced);
  // A generator that hangs must not hang the whole benchmark.
  const deadline = setTimeout(() => child.kill('SIGKILL'), (runSeconds + run.timeoutSeconds + 60) * 1000);
  const result = new Promise<GeneratorResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      const text = Buffer.concat(stdout).toString('utf8').trim();
      try {
        resolve(checkResult(JSON.parse(text)));
      } catch (err) {
        const why = Buffer.concat(stderr).toString('utf8').trim().split('\n').slice(-3).join(' / ');
        reject(new Error(`generator gave no result (exit ${code ?? signal}): ${why || text.slice(0, 200)}`, { cause: err }));
      }
    });
  });
  return {
    result,
    kill() {
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
    },
  };
}

export function runGenerator(run: GeneratorRun): Promise<GeneratorResult> {
  return startGenerator(run).result;
}

function checkResult(value: unknown): GeneratorResult {
  const r = value as GeneratorResult;
  if (typeof r?.messages?.ok2xx !== 'number' || typeof r.durationSeconds !== 'number' || typeof r.latencyMs !== 'object') {
    throw new Error('unexpected JSON shape');
  }
  return r;
}
