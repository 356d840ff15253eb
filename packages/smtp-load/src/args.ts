// Command-line flags of smtp-load: parses and validates them into one frozen
// BenchOptions. Pure: no I/O, no defaults taken from the environment; a bad flag is a
// returned error message (the CLI exits 2 with it), never a throw.

import { parseArgs } from 'node:util';

export const MIN_SIZE_BYTES = 512;
export const MAX_SIZE_BYTES = 100 * 1024 * 1024;
/** RFC 5321 4.5.3.1.3: a path is at most 256 octets including the angle brackets. */
const MAX_ADDRESS_LENGTH = 254;
const MAX_RCPTS = 1000;

export interface BenchTarget {
  readonly host: string;
  readonly port: number;
  /** As given, normalised: smtp://host:port */
  readonly url: string;
}

export interface BenchOptions {
  readonly target: BenchTarget;
  readonly connections: number;
  /** Exactly one of durationMs / amount is set. */
  readonly durationMs: number | null;
  readonly amount: number | null;
  /** Overall messages per second across all connections; null = as fast as possible. */
  readonly ratePerSecond: number | null;
  readonly timeoutMs: number;
  readonly json: boolean;
  readonly progress: boolean;
  readonly latencyTable: boolean;
  readonly sizeBytes: number;
  readonly rcpts: number;
  /** Messages per connection before reconnecting; 0 = unlimited. */
  readonly perConnection: number;
  /** Reverse path; '' is the null sender <>. */
  readonly from: string;
  /** Recipient address template; {n} is the recipient's 1-based index in its message. */
  readonly to: string;
  readonly pipelining: boolean;
  readonly expectFailures: boolean;
  readonly helo: string;
}

export type ParsedArgs =
  | { readonly kind: 'run'; readonly options: BenchOptions }
  | { readonly kind: 'help' }
  | { readonly kind: 'version' }
  | { readonly kind: 'error'; readonly message: string };

export const USAGE = `Usage: smtp-load [flags] smtp://host:port

An SMTP load generator in the manner of autocannon: keeps N connections busy sending
messages, and reports latency (final dot to final reply) and messages per second.

Flags:
  -c, --connections N   concurrent SMTP connections (default 10)
  -d, --duration SEC    run for SEC seconds (default 10)
  -a, --amount N        send N messages, then stop (instead of -d)
  -R, --rate N          overall messages/s across all connections; latency then counts
                        from each message's intended send time (coordinated omission)
  -t, --timeout SEC     seconds to wait for any one reply (default 10)
  -j, --json            print one JSON result object on stdout and nothing else
  -n, --no-progress     no progress bar
  -l, --latency         full percentile table and per-SMTP-phase table
      --size SIZE       message size incl. headers: 2k, 100k, 10m, 4096 (default 2k)
      --rcpts N         recipients per message (default 1)
      --per-conn N      messages per connection before reconnecting (default 0 =
                        unlimited; 1 = one connection per message)
      --from ADDR       envelope sender (default bench@localhost; '' = null sender <>)
      --to DOMAIN|ADDR  recipient domain or address template with {n} = recipient
                        number in the message (default example.com = rcpt{n}@example.com)
      --pipelining      send MAIL, RCPT and DATA in one write when the server
                        advertises PIPELINING (RFC 2920)
      --expect-failures exit 0 even when final replies are not 2xx
      --helo NAME       name sent in EHLO/HELO (default localhost)
  -h, --help            print this help and exit
  -v, --version         print the version and exit

Exit status: 0 all final replies 2xx; 1 otherwise (or nothing got a reply);
2 usage error.
`;

const FLAGS = {
  connections: { type: 'string', short: 'c' },
  duration: { type: 'string', short: 'd' },
  amount: { type: 'string', short: 'a' },
  rate: { type: 'string', short: 'R' },
  timeout: { type: 'string', short: 't' },
  json: { type: 'boolean', short: 'j' },
  'no-progress': { type: 'boolean', short: 'n' },
  latency: { type: 'boolean', short: 'l' },
  size: { type: 'string' },
  rcpts: { type: 'string' },
  'per-conn': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  pipelining: { type: 'boolean' },
  'expect-failures': { type: 'boolean' },
  helo: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** Parses argv (without node and script). */
export function parseBenchArgs(argv: readonly string[]): ParsedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs reports unknown flags and missing values as TypeErrors with a readable message.
    return { kind: 'error', message: (err as Error).message };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const errors: string[] = [];
  const int = (name: string, raw: string | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (raw === undefined) return fallback;
    if (!/^\d+$/.test(raw.trim())) {
      errors.push(`${name} must be a whole number, got "${raw}"`);
      return fallback;
    }
    const n = Number(raw);
    if (n < min || n > max) errors.push(`${name} must be between ${min} and ${max}, got ${n}`);
    return n;
  };
  const seconds = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n <= 0) {
      errors.push(`${name} must be a positive number of seconds, got "${raw}"`);
      return fallback;
    }
    return n;
  };

  const connections = int('-c/--connections', values.connections, 10, 1, 10000);
  if (values.duration !== undefined && values.amount !== undefined) errors.push('give -d/--duration or -a/--amount, not both');
  const amount = values.amount === undefined ? null : int('-a/--amount', values.amount, 1, 1);
  const durationMs = amount === null ? seconds('-d/--duration', values.duration, 10) * 1000 : null;
  let ratePerSecond: number | null = null;
  if (values.rate !== undefined) {
    const n = Number(values.rate);
    if (values.rate.trim() === '' || !Number.isFinite(n) || n <= 0) errors.push(`-R/--rate must be a positive number of messages per second, got "${values.rate}"`);
    else ratePerSecond = n;
  }
  const timeoutMs = seconds('-t/--timeout', values.timeout, 10) * 1000;

  let sizeBytes = 2048;
  if (values.size !== undefined) {
    const size = parseSize(values.size);
    if (typeof size === 'string') errors.push(`--size: ${size}`);
    else sizeBytes = size;
  }
  const rcpts = int('--rcpts', values.rcpts, 1, 1, MAX_RCPTS);
  const perConnection = int('--per-conn', values['per-conn'], 0, 0);

  const from = values.from ?? 'bench@localhost';
  if (from !== '') {
    const problem = checkAddress(from);
    if (problem) errors.push(`--from: ${problem}`);
  }
  const to = expandRecipientTemplate(values.to ?? 'example.com');
  const toProblem = checkAddress(to.replaceAll('{n}', String(MAX_RCPTS)));
  if (toProblem) errors.push(`--to: expected a domain or a local@domain template, got "${values.to}" (${toProblem})`);
  const helo = values.helo ?? 'localhost';
  if (!/^[A-Za-z0-9.:[\]_-]+$/.test(helo)) errors.push(`--helo must be a host name or address literal, got "${helo}"`);

  let target: BenchTarget | null = null;
  if (positionals.length === 0) errors.push('missing target: smtp://host:port');
  else if (positionals.length > 1) errors.push(`one target expected, got ${positionals.length}: ${positionals.join(' ')}`);
  else {
    const result = parseTarget(positionals[0] as string);
    if (typeof result === 'string') errors.push(result);
    else target = result;
  }

  if (errors.length > 0 || target === null) return { kind: 'error', message: errors.join('\n') };
  return {
    kind: 'run',
    options: Object.freeze({
      target,
      connections,
      durationMs,
      amount,
      ratePerSecond,
      timeoutMs,
      json: values.json ?? false,
      progress: !(values['no-progress'] ?? false),
      latencyTable: values.latency ?? false,
      sizeBytes,
      rcpts,
      perConnection,
      from,
      to,
      pipelining: values.pipelining ?? false,
      expectFailures: values['expect-failures'] ?? false,
      helo,
    }),
  };
}

/**
 * "2k", "100k", "10m", "1.5m", "4096", "4096b" -> bytes (k = 1024, m = 1024^2), or an
 * error message.
 */
export function parseSize(raw: string): number | string {
  const match = /^(\d+(?:\.\d+)?)\s*([km]?)b?$/i.exec(raw.trim());
  if (!match) return `expected a size such as 2k, 100k, 10m or 4096, got "${raw}"`;
  const unit = (match[2] ?? '').toLowerCase();
  const bytes = Math.round(Number(match[1]) * (unit === 'm' ? 1024 * 1024 : unit === 'k' ? 1024 : 1));
  if (bytes < MIN_SIZE_BYTES || bytes > MAX_SIZE_BYTES) return `must be between ${MIN_SIZE_BYTES} bytes and 100m, got ${bytes} bytes`;
  return bytes;
}

/** smtp://host[:port] (port 25 by default) -> target, or an error message. */
export function parseTarget(raw: string): BenchTarget | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `target must be a URL such as smtp://127.0.0.1:2525, got "${raw}"`;
  }
  if (url.protocol !== 'smtp:') return `target must use smtp://, got "${url.protocol}//" in "${raw}"`;
  if (!url.hostname) return `target has no host: "${raw}"`;
  if ((url.pathname !== '' && url.pathname !== '/') || url.search || url.hash || url.username) {
    return `target must be smtp://host:port with nothing after the port, got "${raw}"`;
  }
  const port = url.port === '' ? 25 : Number(url.port);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port, url: `smtp://${url.host}${url.port === '' ? ':25' : ''}` };
}

/** A bare domain becomes rcpt{n}@domain; an address (template) stays as it is. */
export function expandRecipientTemplate(to: string): string {
  return to.includes('@') ? to : `rcpt{n}@${to}`;
}

/** Why `address` cannot go inside <...> in MAIL FROM / RCPT TO, or null when it can. */
function checkAddress(address: string): string | null {
  if (address.length > MAX_ADDRESS_LENGTH) return `address longer than ${MAX_ADDRESS_LENGTH} characters`;
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(address)) return `expected local@domain, got "${address}"`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(address)) return 'control characters are not allowed';
  return null;
}
