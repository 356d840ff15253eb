#!/usr/bin/env node
// The `smtp-load` command: parses flags, builds the message and commands once, runs
// the load, prints autocannon-style tables (stdout) or one JSON object (-j), and exits
// 0 / 1 (not every final reply was 2xx) / 2 (usage). First SIGINT stops, second aborts.

import { readFileSync } from 'node:fs';
import { parseBenchArgs, USAGE, type BenchOptions } from './args.js';
import { buildEnvelope } from './envelope.js';
import { buildMessage } from './message.js';
import { createProgressBar } from './progress.js';
import { exitStatus, formatHeader, formatReport, toJsonResult } from './report.js';
import { startRun } from './run.js';

const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

async function run(options: BenchOptions): Promise<number> {
  const { wire } = buildMessage(options.sizeBytes, { from: options.from, date: new Date() });
  const commands = buildEnvelope({ helo: options.helo, from: options.from, to: options.to, rcpts: options.rcpts });
  if (!options.json) process.stdout.write(formatHeader(options));
  const bar =
    options.progress && !options.json && process.stderr.isTTY
      ? createProgressBar(process.stderr, options.amount === null ? { durationMs: options.durationMs ?? 0 } : { amount: options.amount })
      : null;
  const handle = startRun(
    {
      host: options.target.host,
      port: options.target.port,
      connections: options.connections,
      durationMs: options.durationMs,
      amount: options.amount,
      ratePerSecond: options.ratePerSecond,
      timeoutMs: options.timeoutMs,
      perConnection: options.perConnection,
      pipelining: options.pipelining,
      commands,
      wire,
    },
    bar ? (sample) => bar.update(sample) : undefined,
  );
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts += 1;
    if (interrupts === 1) handle.stop();
    else handle.abort();
  };
  process.on('SIGINT', onSigint);
  const result = await handle.done;
  process.off('SIGINT', onSigint);
  bar?.clear();
  if (options.json) process.stdout.write(JSON.stringify(toJsonResult(options, result)) + '\n');
  else process.stdout.write(formatReport(options, result));
  return exitStatus(options, result);
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case 'error':
      process.stderr.write(`smtp-load: ${parsed.message.split('\n').join('\nsmtp-load: ')}\n\n${USAGE}`);
      return EXIT_USAGE;
    case 'run':
      return run(parsed.options);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error('smtp-load: internal error', err);
    process.exitCode = 70;
  },
);
