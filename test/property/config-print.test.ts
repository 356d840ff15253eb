// Property: printConfig(config) (`smtpipe --check --print`) loads back to the same config
// (positions aside), for generated configs and for the real ones; the printed text loads
// without warnings.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { loadConfig, parseConfigText } from '../../src/config/load.js';
import { MAX_DURATION_SECONDS } from '../../src/config/defaults.js';
import { bindConflict } from '../../src/config/listen-conflicts.js';
import { parseConfigSource } from '../../src/config/parser.js';
import { PROGRAM_MACROS } from '../../src/config/program-argv.js';
import { argvWords, programTemplate } from '../helpers/transport.js';
import { printConfig, quote } from '../../src/config/print.js';
import type { Config, MappedReply, ParsedConfig, ParsedListener, ParsedTransport, PeerRule, SourcePosition } from '../../src/config/types.js';
import { fixture } from '../helpers/paths.js';
import { hostedBundledConfig, hostedFullConfig } from '../helpers/hosted-config.js';

const FILE = '/virtual/printed.conf';
// Unprivileged: loadConfig then resolves no default user.
const HOST = { hostname: 'mx.test', parallelism: 3, uid: 1000, gid: 1000 };
const NOWHERE: SourcePosition = { file: FILE, line: 1, column: 1 };

/** Plain data without positions (a transport's places are positions too): Maps become entry arrays, so Map and FrozenMap compare equal. */
function strip(value: unknown): unknown {
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => [strip(k), strip(v)]);
  if (Array.isArray(value)) return value.map(strip);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== 'position' && k !== 'places').map(([k, v]) => [k, strip(v)]));
  }
  return value;
}

function reload(config: ParsedConfig): ParsedConfig {
  const text = printConfig(config);
  const result = parseConfigText(text, FILE, HOST);
  if (!result.ok) assert.fail(`printed config does not load:\n${result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join('\n')}\n---\n${text}`);
  assert.deepEqual(result.warnings, [], text);
  return result.config;
}

/** What the schema alone gives: a loaded Config without runAs and PEM text. */
function parsedPart(config: Config): ParsedConfig {
  return {
    ...config,
    listeners: config.listeners.map((l) => ({
      ...l,
      tls: l.tls === null ? null : (({ certificatePem: _c, keyPem: _k, clientCaPem: _a, ...tls }) => tls)(l.tls),
    })),
    transports: config.transports.map(({ runAs: _runAs, ...t }) => t),
  };
}

// ---- arbitraries -------------------------------------------------------------------

const hasControl = (s: string) => [...s].some((c) => c.charCodeAt(0) < 0x20 || c === '\x7f');
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,10}[a-z0-9])?$/);
const hostname = fc.array(label, { minLength: 1, maxLength: 4 }).map((labels) => labels.join('.'));
/** Any character but controls, plus the ones the escaping must get right. */
const char = fc.oneof(
  fc.constantFrom(' ', '"', '\\', "'", '{', '}', '#', '/*', '=', '(', ']', 'é', '\u00a0', '\uFEFF', '😀'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !hasControl(c)),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }).filter((c) => !hasControl(c)),
);
const text = (minLength: number, maxLength: number) => fc.string({ unit: char, minLength, maxLength });
/** Text of program_name: a "${" there would be a macro (the macro arbitrary makes those). */
const plain = (minLength: number, maxLength: number) => text(minLength, maxLength).filter((s) => !s.includes('${'));

const listenLabel = fc
  .tuple(
    fc.oneof(
      fc.constant(''),
      fc.ipV4(),
      hostname.filter((h) => /[a-z]/.test(h)),
      fc.constantFrom('[::1]', '[::]', '[2001:db8::25]', '[fe80::1:2]'),
    ),
    fc.integer({ min: 0, max: 65535 }),
  )
  .map(([host, port]) => ({ label: `${host}:${port}`, host: host === '' ? undefined : host.replace(/^\[|\]$/g, ''), port }));

const throttleRate = fc.oneof(fc.constant(null), fc.record({ count: fc.integer({ min: 1, max: 999_999_999 }), seconds: fc.integer({ min: 1, max: 999_999_999 }) }));
const peerRule: fc.Arbitrary<PeerRule> = fc
  .record({
    block: fc.oneof(
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, prefix]) => ({ network: ip, prefix, family: 'ipv4' as const, label: `${ip}/${prefix}` })),
      fc.constantFrom(
        { network: '::1', prefix: 128, family: 'ipv6' as const, label: '::1' },
        { network: '2001:db8::', prefix: 32, family: 'ipv6' as const, label: '2001:db8::/32' },
      ),
    ),
    overrides: fc.record(
      {
        maxMessageBytes: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        maxRecipientsPerMessage: fc.integer({ min: 1, max: 100_000 }),
        bareNewlines: fc.constantFrom('reject' as const, 'normalize' as const),
        enable: fc.boolean(),
      },
      { requiredKeys: [] },
    ),
  })
  .map(({ block, overrides }) => ({ ...block, overrides, position: NOWHERE }));

const listener: fc.Arbitrary<ParsedListener> = fc
  .record({
    address: listenLabel,
    protocol: fc.constantFrom('smtp' as const, 'lmtp' as const),
    maxMessageBytes: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
    maxSessions: fc.integer({ min: 1, max: 1_000_000 }),
    idleSeconds: fc.integer({ min: 1, max: MAX_DURATION_SECONDS }),
    maxRecipientsPerMessage: fc.integer({ min: 1, max: 100_000 }),
    bannerHostname: hostname,
    greetingPauseMs: fc.integer({ min: 0, max: MAX_DURATION_SECONDS * 1000 }),
    bareNewlines: fc.constantFrom('reject' as const, 'normalize' as const),
    maxReceptionsPerConnection: fc.integer({ min: 0, max: 100_000 }),
    maxRecipientsPerConnection: fc.integer({ min: 0, max: 100_000 }),
    maxSessionsPerClient: fc.integer({ min: 0, max: 100_000 }),
    dataSeconds: fc.integer({ min: 1, max: MAX_DURATION_SECONDS }),
    // TLS needs readable files, which a pure load cannot check: covered by integration tests.
    tls: fc.constant(null),
    smtputf8: fc.boolean(),
    connectionThrottle: throttleRate,
    messageThrottle: throttleRate,
    // AUTH needs a readable password file too: covered by integration tests.
    auth: fc.constant(null),
    requireAuth: fc.constant(false),
    peers: fc.uniqueArray(peerRule, { maxLength: 3, selector: (p) => p.label }).map((list) => [...list].sort((a, b) => b.prefix - a.prefix)),
    proxy: fc.oneof(
      fc.constant(null),
      fc.record({ trustedHosts: fc.uniqueArray(fc.oneof(fc.ipV4(), fc.ipV4().map((ip) => `${ip}/24`), fc.constant('::1')), { minLength: 1, maxLength: 3 }) }),
    ),
  })
  .map(({ address, idleSeconds, dataSeconds, peers, ...rest }) => ({
    ...address,
    ...rest,
    idleTimeoutMs: idleSeconds * 1000,
    maxDataMs: dataSeconds * 1000,
    // Require_TLS needs TLS, which needs files (above).
    requireTls: false,
    peers,
    position: NOWHERE,
  }));

/** One argument as program_name writes it: escapes for \ and ", quotes for blanks. */
function writeArgument(arg: string): string {
  const escaped = arg.replace(/[\\"]/g, (c) => `\\${c}`);
  return arg === '' || /\s/.test(arg) ? `"${escaped}"` : escaped;
}

const macro = fc.constantFrom(...PROGRAM_MACROS.filter((m) => m !== 'recipients')).map((m) => `\${${m}}`);
const argument = fc.oneof(
  plain(0, 8),
  macro,
  fc.constant('${recipients}'),
  fc.tuple(plain(0, 4), macro, plain(0, 4)).map((parts) => parts.join('')),
);
const program = fc
  .record({
    argv0: fc.array(plain(1, 6).filter((s) => !s.includes('/')), { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
    args: fc.array(argument, { maxLength: 5 }),
    gaps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 8, maxLength: 8 }),
    lead: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ argv0, args, gaps, lead }) => {
    const argv = [argv0, ...args];
    const written = argv.map(writeArgument).map((a, i) => (i === 0 ? a : ' '.repeat(gaps[i % gaps.length] ?? 1) + a));
    return { programName: ' '.repeat(lead) + written.join(''), program: programTemplate(argv) };
  });

/** recipient_check: a program_name without the macros that have no value before DATA. */
const recipientCheck = fc.option(
  program
    .filter(({ program: t }) => t.args.every((a) => a.kind === 'parts' && a.parts.every((x) => x.kind === 'literal' || (x.name !== 'queue_id' && x.name !== 'size'))))
    .map(({ programName, program: template }) => ({ text: programName, template, position: NOWHERE })),
  { nil: null },
);

const absolutePath = text(1, 20).map((s) => `/${s}`);
const replyText = fc
  .oneof(fc.constantFrom('2.0.0 ok', '5.1.1 no such list', '4.3.0 try "again" \\ later'), text(1, 30))
  // RFC 5321 2.4: the schema takes printable ASCII only.
  .filter((s) => /^[!-~][ -~]*$/.test(s));
const codes = fc
  .uniqueArray(
    fc.record({
      status: fc.integer({ min: 0, max: 255 }),
      code: fc.oneof(fc.integer({ min: 200, max: 299 }), fc.integer({ min: 400, max: 599 })),
      text: replyText,
    }),
    { selector: (c) => c.status, maxLength: 6 },
  )
  .map((list) => new Map<number, MappedReply>(list.map((c) => [c.status, { code: c.code, text: c.text }])));

const RESERVED = new Set(PROGRAM_MACROS.map((m) => m.toUpperCase()));
const envName = fc
  .oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), fc.constantFrom('__proto__', 'constructor', 'PATH', 'sender'))
  .filter((n) => !RESERVED.has(n));
const env = fc
  .uniqueArray(fc.tuple(envName, fc.string({ unit: 'binary', maxLength: 20 }).filter((v) => !v.includes('\0'))), {
    selector: ([name]) => name,
    maxLength: 5,
  })
  .map((entries) => Object.fromEntries(entries) as Record<string, string>);

/** user / group as written: a name, or a numeric id (parseConfigText looks neither up). */
const accountText = fc
  .oneof(fc.stringMatching(/^[a-z_][a-z0-9._-]{0,15}\$?$/), fc.integer({ min: 0, max: 2 ** 31 - 1 }).map(String))
  .map((text) => ({ text, position: NOWHERE }));

const transportName = fc.string({ unit: char, minLength: 1, maxLength: 12 }).filter((n) => !/\s/.test(n));

const transportBody = fc.record({
  program,
  outputFile: fc.option(absolutePath),
  errorFile: fc.option(absolutePath),
  outputMode: fc.integer({ min: 0, max: 0o777 }),
  errorMode: fc.integer({ min: 0, max: 0o777 }),
  domains: fc.uniqueArray(fc.tuple(fc.boolean(), hostname).map(([wild, h]) => (wild ? `*.${h}` : h)), { minLength: 1, maxLength: 4 }),
  codes,
  exitCodes: fc.constantFrom('momentum' as const, 'sysexits' as const, 'qmail' as const),
  replyFromOutput: fc.constantFrom('none' as const, 'stdout' as const, 'stderr' as const),
  timeoutSeconds: fc.integer({ min: 1, max: MAX_DURATION_SECONDS }),
  concurrency: fc.integer({ min: 1, max: 10_000 }),
  eol: fc.constantFrom('lf' as const, 'crlf' as const),
  receivedHeader: fc.boolean(),
  returnPathHeader: fc.boolean(),
  deliveredToHeader: fc.boolean(),
  env,
  user: fc.option(accountText, { nil: null }),
  group: fc.option(accountText, { nil: null }),
  allowRoot: fc.boolean(),
  directory: fc.option(absolutePath.map((text) => ({ text, position: NOWHERE })), { nil: null }),
  umask: fc.option(fc.integer({ min: 0, max: 0o777 }), { nil: null }),
  recipientCheck,
  recipientCheckTimeoutSeconds: fc.integer({ min: 1, max: MAX_DURATION_SECONDS }),
  recipientCheckConcurrency: fc.integer({ min: 1, max: 10_000 }),
});

const transports: fc.Arbitrary<ParsedTransport[]> = fc
  .uniqueArray(fc.tuple(transportName, transportBody), { selector: ([name]) => name, minLength: 1, maxLength: 4 })
  .map((list) =>
    list.map(([name, { program: p, timeoutSeconds, recipientCheckTimeoutSeconds, domains, replyFromOutput, ...rest }], i) => ({
      name,
      ...p,
      ...rest,
      // A captured stream cannot also go to a file: the schema refuses the pair.
      replyFromOutput: (replyFromOutput === 'stdout' ? rest.outputFile : replyFromOutput === 'stderr' ? rest.errorFile : null) === null ? replyFromOutput : 'none',
      // A domain belongs to one transport: a per-transport last label keeps them apart.
      domains: domains.map((d) => `${d}.t${i}`),
      timeoutMs: timeoutSeconds * 1000,
      recipientCheckTimeoutMs: recipientCheckTimeoutSeconds * 1000,
      places: {},
      position: NOWHERE,
    })),
  );

const config: fc.Arbitrary<ParsedConfig> = fc
  .record({
    listeners: fc.uniqueArray(listener, { selector: (l) => `${l.host ?? '*'}|${l.port}`, minLength: 1, maxLength: 3 }),
    transports,
    pool: fc.record({
      threads: fc.integer({ min: 1, max: 64 }),
      tasksPerThread: fc.integer({ min: 1, max: 1000 }),
      maxQueue: fc.integer({ min: 0, max: 1_000_000 }),
      spawner: fc.constantFrom('auto' as const, 'native' as const, 'child_process' as const),
    }),
    shutdownSeconds: fc.integer({ min: 0, max: MAX_DURATION_SECONDS }),
    exitCodes: fc.constantFrom('momentum' as const, 'sysexits' as const, 'qmail' as const),
    maxReceivedHeaders: fc.integer({ min: 1, max: 100_000 }),
    processes: fc.integer({ min: 1, max: 256 }),
    metricsListen: fc.option(
      fc.record({ host: fc.constantFrom('127.0.0.1', undefined), port: fc.integer({ min: 0, max: 65535 }) }).map(({ host, port }) => ({
        label: `${host ?? ''}:${port}`,
        host,
        port,
      })),
      { nil: null },
    ),
    spool: fc.record({
      memoryBytes: fc.integer({ min: 0, max: 2 ** 40 }),
      thresholdBytes: fc.integer({ min: 0, max: 2 ** 32 }),
      directory: fc.constantFrom('/var/tmp', '/tmp', '/srv/spool dir', '/x"y').map((text) => ({ text, position: NOWHERE })),
    }),
  })
  .map(({ shutdownSeconds, ...rest }) => ({ file: FILE, ...rest, shutdownTimeoutMs: shutdownSeconds * 1000 }))
  // Addresses that could not all be bound (":25" with "127.0.0.1:25", Metrics_Listen on a
  // Listen's port) are a config error, not a config to print.
  .filter(({ listeners, metricsListen }) => {
    const all = metricsListen === null ? listeners : [...listeners, metricsListen];
    return all.every((a, i) => all.slice(0, i).every((b) => bindConflict(a, b) === undefined));
  });

// ---- properties --------------------------------------------------------------------

test('generated configs: print -> parse gives the same config', (t) => {
  const seen = { configs: 0, listeners: 0, transports: 0, codes: 0, envEntries: 0, quotedArgs: 0, macroArgs: 0, outputFiles: 0 };
  fc.assert(
    fc.property(config, (generated) => {
      seen.configs += 1;
      seen.listeners += generated.listeners.length;
      for (const tr of generated.transports) {
        seen.transports += 1;
        seen.codes += tr.codes.size;
        seen.envEntries += Object.keys(tr.env).length;
        seen.quotedArgs += argvWords(tr.program).filter((a) => a === '' || /[\s"\\]/.test(a)).length;
        seen.macroArgs += argvWords(tr.program).filter((a) => a.includes('${')).length;
        seen.outputFiles += tr.outputFile === null ? 0 : 1;
      }
      const loaded = reload(generated);
      assert.deepStrictEqual(strip(loaded), strip(generated));
      // And printing is stable: the loaded config prints to the same text.
      assert.equal(printConfig(loaded), printConfig(generated));
    }),
    { seed: 0x9e1e7, numRuns: 200 },
  );  t.diagnostic(`round-tripped ${JSON.stringify(seen)}`);
});

/** What string escaping is about, mixed with anything else. */
const tricky = fc.oneof(
  fc.constantFrom('"', '\\', '\n', '\t', '\r', 'n', 't', '#', '/*', '\u2028'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
);

test('quote: the lexer decodes every string back', () => {
  fc.assert(
    fc.property(fc.string({ unit: tricky, maxLength: 40 }), (s) => {
      const parsed = parseConfigSource(`x = ${quote(s)}`, FILE);
      assert.deepEqual(parsed.errors, []);
      const [item] = parsed.items;
      assert.ok(item?.kind === 'option' && item.value.kind === 'scalar' && item.value.quoted);
      assert.equal(item.value.text, s);
    }),
    { seed: 0x9e1e8, numRuns: 500 },
  );
});

// Loaded as on a host of their own (hosted-config.ts): their programs and output files pass the load's checks.
for (const [name, file] of [
  ['config/smtpipe.conf', async () => (await hostedBundledConfig()).file],
  ['ecelerity-full.conf', async () => (await hostedFullConfig()).file],
  ['include/main.conf', async () => fixture('config', 'include', 'main.conf')],
] as const) {
  test(`${name}: print -> parse gives the same config`, async () => {
    const result = await loadConfig(await file(), HOST);
    assert.ok(result.ok, JSON.stringify(result));
    const parsed = parsedPart({ ...result.config, file: FILE });
    assert.deepStrictEqual(strip(reload(parsed)), strip(parsed));
  });
}
