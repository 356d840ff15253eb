// Table-driven tests of src/args.ts: every flag, sizes, targets, and bad
// input turned into a clear message (never a throw).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchArgs, parseSize, parseTarget, type BenchOptions } from '../src/args.js';

const TARGET = 'smtp://127.0.0.1:2525';

function options(...argv: string[]): BenchOptions {
  const parsed = parseBenchArgs(argv);
  assert.equal(parsed.kind, 'run', parsed.kind === 'error' ? parsed.message : '');
  return (parsed as { options: BenchOptions }).options;
}

function error(...argv: string[]): string {
  const parsed = parseBenchArgs(argv);
  assert.equal(parsed.kind, 'error');
  return (parsed as { message: string }).message;
}

test('defaults', () => {
  assert.deepEqual(options(TARGET), {
    target: { host: '127.0.0.1', port: 2525, url: TARGET },
    connections: 10,
    durationMs: 10000,
    amount: null,
    ratePerSecond: null,
    timeoutMs: 10000,
    json: false,
    progress: true,
    latencyTable: false,
    sizeBytes: 2048,
    rcpts: 1,
    perConnection: 0,
    from: 'bench@localhost',
    to: 'rcpt{n}@example.com',
    pipelining: false,
    expectFailures: false,
    helo: 'localhost',
  });
});

const flagCases: ReadonlyArray<readonly [argv: string[], expected: Partial<BenchOptions>]> = [
  [['-c', '50'], { connections: 50 }],
  [['--connections', '3'], { connections: 3 }],
  [['-d', '2.5'], { durationMs: 2500, amount: null }],
  [['--duration', '30'], { durationMs: 30000 }],
  [['-a', '200'], { amount: 200, durationMs: null }],
  [['--amount', '1'], { amount: 1, durationMs: null }],
  [['-R', '500'], { ratePerSecond: 500 }],
  [['--rate', '0.5'], { ratePerSecond: 0.5 }],
  [['-t', '0.25'], { timeoutMs: 250 }],
  [['--timeout', '3'], { timeoutMs: 3000 }],
  [['-j'], { json: true }],
  [['--json'], { json: true }],
  [['-n'], { progress: false }],
  [['--no-progress'], { progress: false }],
  [['-l'], { latencyTable: true }],
  [['--latency'], { latencyTable: true }],
  [['-jnl'], { json: true, progress: false, latencyTable: true }],
  [['--size', '100k'], { sizeBytes: 102400 }],
  [['--rcpts', '5'], { rcpts: 5 }],
  [['--per-conn', '1'], { perConnection: 1 }],
  [['--per-conn', '0'], { perConnection: 0 }],
  [['--from', 'a@b.example'], { from: 'a@b.example' }],
  [['--from', ''], { from: '' }],
  [['--to', 'example.org'], { to: 'rcpt{n}@example.org' }],
  [['--to', 'user{n}@example.com'], { to: 'user{n}@example.com' }],
  [['--to', 'fixed@example.com'], { to: 'fixed@example.com' }],
  [['--pipelining'], { pipelining: true }],
  [['--expect-failures'], { expectFailures: true }],
  [['--helo', 'bench.example'], { helo: 'bench.example' }],
  [['--helo', '[127.0.0.1]'], { helo: '[127.0.0.1]' }],
];

for (const [argv, expected] of flagCases) {
  test(`flag ${argv.join(' ')}`, () => {
    const parsed = options(...argv, TARGET);
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(parsed[key as keyof BenchOptions], value, key);
  });
}

test('flags after the target are accepted too', () => {
  assert.equal(options(TARGET, '-c', '4').connections, 4);
});

test('-h and -v', () => {
  assert.deepEqual(parseBenchArgs(['-h']), { kind: 'help' });
  assert.deepEqual(parseBenchArgs(['--help', TARGET]), { kind: 'help' });
  assert.deepEqual(parseBenchArgs(['-v']), { kind: 'version' });
});

const sizeCases: ReadonlyArray<readonly [raw: string, bytes: number]> = [
  ['2k', 2048],
  ['2K', 2048],
  ['100k', 102400],
  ['10m', 10485760],
  ['1.5m', 1572864],
  ['512', 512],
  ['4096b', 4096],
  ['2kb', 2048],
  [' 8k ', 8192],
];
for (const [raw, bytes] of sizeCases) {
  test(`parseSize ${JSON.stringify(raw)} = ${bytes}`, () => assert.equal(parseSize(raw), bytes));
}

const badSizes = ['', 'k', '2g', '-1k', '2 kilobytes', '511', '101m', '0x10'];
for (const raw of badSizes) {
  test(`parseSize ${JSON.stringify(raw)} is an error message`, () => assert.equal(typeof parseSize(raw), 'string'));
}

const targetCases: ReadonlyArray<readonly [raw: string, host: string, port: number, url: string]> = [
  ['smtp://127.0.0.1:2525', '127.0.0.1', 2525, 'smtp://127.0.0.1:2525'],
  ['smtp://localhost', 'localhost', 25, 'smtp://localhost:25'],
  ['smtp://[::1]:2525', '::1', 2525, 'smtp://[::1]:2525'],
  ['smtp://mx.example.com:587/', 'mx.example.com', 587, 'smtp://mx.example.com:587'],
];
for (const [raw, host, port, url] of targetCases) {
  test(`parseTarget ${raw}`, () => assert.deepEqual(parseTarget(raw), { host, port, url }));
}

const errorCases: ReadonlyArray<readonly [argv: string[], pattern: RegExp]> = [
  [[], /missing target: smtp:\/\/host:port/],
  [[TARGET, 'smtp://other:25'], /one target expected, got 2/],
  [['http://127.0.0.1:80'], /target must use smtp:\/\//],
  [['127.0.0.1:2525'], /target must use smtp:\/\/|target must be a URL/],
  [['not a url'], /target must be a URL/],
  [['smtp://h:25/path'], /nothing after the port/],
  [['-c', '0', TARGET], /-c\/--connections must be between 1 and/],
  [['-c', 'ten', TARGET], /-c\/--connections must be a whole number, got "ten"/],
  [['-c', '1.5', TARGET], /whole number/],
  [['-d', '0', TARGET], /-d\/--duration must be a positive number of seconds, got "0"/],
  [['-d', 'x', TARGET], /-d\/--duration must be a positive number/],
  [['-a', '0', TARGET], /-a\/--amount must be between 1 and/],
  [['-a', '10', '-d', '5', TARGET], /give -d\/--duration or -a\/--amount, not both/],
  [['--rate=-5', TARGET], /-R\/--rate must be a positive number/],
  [['-R', '-5', TARGET], /Option '-R' argument is ambiguous/],
  [['-R', 'fast', TARGET], /-R\/--rate must be a positive number/],
  [['-t', '0', TARGET], /-t\/--timeout must be a positive number/],
  [['--size', '2x', TARGET], /--size: expected a size such as 2k/],
  [['--size', '100', TARGET], /--size: must be between 512 bytes and 100m/],
  [['--rcpts', '0', TARGET], /--rcpts must be between 1 and 1000/],
  [['--rcpts', '1001', TARGET], /--rcpts must be between 1 and 1000/],
  [['--per-conn=-1', TARGET], /--per-conn must be a whole number, got "-1"/],
  [['--from', 'no-at-sign', TARGET], /--from: expected local@domain/],
  [['--from', 'a b@c', TARGET], /--from: expected local@domain/],
  [['--from', `${'x'.repeat(250)}@example.com`, TARGET], /--from: address longer than 254/],
  [['--to', 'exa mple.com', TARGET], /--to: expected a domain or a local@domain template, got "exa mple.com"/],
  [['--to', '<a@b>', TARGET], /--to: expected a domain/],
  [['--helo', 'bad name', TARGET], /--helo must be a host name/],
  [['--frobnicate', TARGET], /Unknown option '--frobnicate'/],
  [['-c'], /argument missing|requires/i],
];
for (const [argv, pattern] of errorCases) {
  test(`error: ${argv.join(' ') || '(no arguments)'}`, () => assert.match(error(...argv), pattern));
}

test('every problem is reported, one per line', () => {
  const message = error('-c', '0', '--rcpts', '0', '--size', 'big');
  assert.equal(message.split('\n').length, 4);
  assert.match(message, /missing target/);
});
