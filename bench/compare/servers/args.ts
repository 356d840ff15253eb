// Command line of the comparison's stand-alone servers: `--port N` (127.0.0.1 only) and,
// for naive.ts, `--program PATH`. Tiny on purpose: these servers are fixtures, not tools.

import { parseArgs } from 'node:util';

export interface ServerArgs {
  readonly port: number;
  readonly program: string;
}

export function parseServerArgs(argv: readonly string[]): ServerArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { port: { type: 'string' }, program: { type: 'string', default: '/bin/cat' } },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--port must be a TCP port, got "${values.port}"`);
  return { port, program: values.program };
}
