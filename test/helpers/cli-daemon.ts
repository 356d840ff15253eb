// The built CLI as a child process on a config file, with its JSON log lines captured:
// for tests that need a real process (its own fd limit, signals, exit codes).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { scratchDir } from './daemon.js';
import { repoRoot } from './paths.js';

export const CLI = path.join(repoRoot, 'dist', 'src', 'ops', 'cli.js');

export interface Cli {
  child: ChildProcess;
  /** The daemon's own pid (from its log lines): child.pid is a shell's when wrapped. */
  pid: number;
  /** The first Listen's port. */
  port: number;
  /** Every Listen's port, in config order. */
  ports: number[];
  /** Metrics_Listen's port, when set. */
  metricsPort: number | null;
  dir: string;
  logs: Array<Record<string, unknown>>;
  stderr: string[];
  stop(): Promise<number | null>;
}

const portOf = (address: string) => Number(address.split(':').pop());

/** Starts the CLI on `conf` ({{dir}} = a scratch directory), optionally under `sh -c PREFIX; exec node ...`. */
export async function startCli(conf: string, shellPrefix?: string): Promise<Cli> {
  const dir = await scratchDir();
  const file = path.join(dir, 'smtpipe.conf');
  await writeFile(file, conf.replaceAll('{{dir}}', dir));
  const child =
    shellPrefix === undefined
      ? spawn(process.execPath, [CLI, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('/bin/sh', ['-c', `${shellPrefix}; exec "$0" "$@"`, process.execPath, CLI, '-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', (line) => stderr.push(line));
  const listening = new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry.msg === 'listening') resolve(entry);
    });
    child.once('exit', (code) => reject(new Error(`smtpipe exited with ${code}: ${stderr.join('\n')}`)));
  });
  const entry = await listening;
  const ports = (entry.listeners as string[]).map(portOf);
  return {
    child,
    dir,
    pid: Number(entry.pid),
    port: ports[0] ?? 0,
    ports,
    metricsPort: typeof entry.metrics === 'string' ? portOf(entry.metrics) : null,
    logs,
    stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      return ((await exited) as [number | null])[0];
    },
  };
}
