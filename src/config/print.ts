// Prints a Config back as ecelerity.conf text with every option explicit, so that
// loading the text gives the same Config (positions aside). Pure: no I/O, no defaults
// of its own. It must not print what load would refuse: a value the file format cannot
// express (a timeout of 1.5 s) is a caller bug and throws.

import type { Config, ListenerConfig, PoolConfig, TransportConfig } from './types.js';

type GlobalOptions = Omit<Config, 'file' | 'listeners' | 'transports' | 'pool'>;
type ListenerOptions = Omit<ListenerConfig, 'label' | 'host' | 'port' | 'position'>;
// program and runAs are derived by the loader from program_name and user/group.
type TransportOptions = Omit<TransportConfig, 'name' | 'program' | 'runAs' | 'position'>;

/**
 * One printer per option, keyed by the Config field: a field added to Config, PoolConfig,
 * ListenerConfig or TransportConfig fails to compile here until it is printed.
 */
const GLOBAL_OPTIONS: { readonly [K in keyof GlobalOptions]: (c: Config) => string } = {
  shutdownTimeoutMs: (c) => `Shutdown_Timeout = ${wholeSeconds(c.shutdownTimeoutMs)}`,
  metricsListen: (c) => (c.metricsListen === null ? '# Metrics_Listen: off' : `Metrics_Listen = ${quote(c.metricsListen.label)}`),
};

const POOL_OPTIONS: { readonly [K in keyof PoolConfig]: (p: PoolConfig) => string } = {
  threads: (p) => `Pool_Threads = ${whole(p.threads)}`,
  tasksPerThread: (p) => `Pool_Tasks_Per_Thread = ${whole(p.tasksPerThread)}`,
  maxQueue: (p) => `Pool_Max_Queue = ${whole(p.maxQueue)}`,
  spawner: (p) => `Spawner = ${quote(p.spawner)}`,
};

const LISTENER_OPTIONS: { readonly [K in keyof ListenerOptions]: (l: ListenerConfig) => string } = {
  maxMessageBytes: (l) => `Max_Message_Size = ${whole(l.maxMessageBytes)}`,
  maxSessions: (l) => `Listener_Sessions = ${whole(l.maxSessions)}`,
  idleTimeoutMs: (l) => `Idle_Time = ${wholeSeconds(l.idleTimeoutMs)}`,
  maxRecipientsPerMessage: (l) => `Max_Recipients_Per_Message = ${whole(l.maxRecipientsPerMessage)}`,
  bannerHostname: (l) => `Banner_Hostname = ${quote(l.bannerHostname)}`,
  greetingPauseMs: (l) => `Greeting_Pause = ${fractionalSeconds(l.greetingPauseMs)}`,
  bareNewlines: (l) => `Bare_Newlines = ${quote(l.bareNewlines)}`,
  maxReceptionsPerConnection: (l) => `Max_Receptions_Per_Connection = ${whole(l.maxReceptionsPerConnection)}`,
  maxRecipientsPerConnection: (l) => `Max_Recipients_Per_Connection = ${whole(l.maxRecipientsPerConnection)}`,
  maxSessionsPerClient: (l) => `Max_Sessions_Per_Client = ${whole(l.maxSessionsPerClient)}`,
  maxDataMs: (l) => `Max_Data_Time = ${wholeSeconds(l.maxDataMs)}`,
  tls: (l) =>
    l.tls === null
      ? '# TLS: off'
      : [
          l.tls.mode === 'implicit' ? 'Use_SSL = true' : 'SMTP_Extensions = ( "STARTTLS" )',
          `TLS_Certificate = ${quote(l.tls.certificateFile)}`,
          `TLS_Key = ${quote(l.tls.keyFile)}`,
          `TLS_Verify_Mode = ${quote(l.tls.verifyMode)}`,
          ...(l.tls.clientCaFile === null ? [] : [`TLS_Client_CA = ${quote(l.tls.clientCaFile)}`]),
        ].join('\n    '),
  proxy: (l) =>
    l.proxy === null
      ? 'Proxy_Protocol = false'
      : `Proxy_Protocol = true\n    Proxy_Hosts = ( ${l.proxy.trustedHosts.map(quote).join(' ')} )`,
};

const TRANSPORT_OPTIONS: { readonly [K in keyof TransportOptions]: (t: TransportConfig) => string } = {
  // program_name as written: program is derived from it by the loader.
  programName: (t) => `program_name = ${quote(t.programName)}`,
  // null is /dev/null, which only an absent option means: "/dev/null" would load as a path.
  outputFile: (t) => (t.outputFile === null ? '# output_file: none (/dev/null)' : `output_file = ${quote(t.outputFile)}`),
  errorFile: (t) => (t.errorFile === null ? '# error_file: none (/dev/null)' : `error_file = ${quote(t.errorFile)}`),
  outputMode: (t) => `output_mode = ${octal(t.outputMode)}`,
  errorMode: (t) => `error_mode = ${octal(t.errorMode)}`,
  domains: (t) => `domain = ( ${t.domains.map(quote).join(' ')} )`,
  codes: (t) => `code = [${[...t.codes].map(([status, r]) => ` ${quote(String(status))} = ${quote(`${r.code} ${r.text}`)}`).join('')} ]`,
  timeoutMs: (t) => `timeout = ${wholeSeconds(t.timeoutMs)}`,
  concurrency: (t) => `concurrency = ${whole(t.concurrency)}`,
  eol: (t) => `eol = ${quote(t.eol)}`,
  receivedHeader: (t) => `received_header = ${String(t.receivedHeader)}`,
  returnPathHeader: (t) => `return_path_header = ${String(t.returnPathHeader)}`,
  deliveredToHeader: (t) => `delivered_to_header = ${String(t.deliveredToHeader)}`,
  env: (t) => `env = [${Object.entries(t.env).map(([k, v]) => ` ${quote(k)} = ${quote(v)}`).join('')} ]`,
  user: (t) => (t.user === null ? '# user: none' : `user = ${quote(t.user.text)}`),
  group: (t) => (t.group === null ? "# group: none (the user's primary group)" : `group = ${quote(t.group.text)}`),
  allowRoot: (t) => `allow_root = ${String(t.allowRoot)}`,
  directory: (t) => (t.directory === null ? "# directory: none (smtpipe's own)" : `directory = ${quote(t.directory.text)}`),
  umask: (t) => (t.umask === null ? "# umask: none (smtpipe's own)" : `umask = ${octal(t.umask)}`),
};

export function printConfig(config: Config): string {
  const lines = [
    `# smtpipe configuration printed from ${JSON.stringify(config.file)}`,
    ...Object.values(POOL_OPTIONS).map((print) => print(config.pool)),
    ...Object.values(GLOBAL_OPTIONS).map((print) => print(config)),
  ];
  // One ESMTP_Listener per Listen, its options inside the Listen: folding them back
  // into shared listener-scope options would gain nothing.
  for (const listener of config.listeners) {
    lines.push('', 'ESMTP_Listener {', `  Listen ${quote(listener.label)} {`);
    for (const print of Object.values(LISTENER_OPTIONS)) lines.push(`    ${print(listener)}`);
    lines.push('  }', '}');
  }
  for (const transport of config.transports) {
    lines.push('', `pipe_transport ${quote(transport.name)} {`);
    for (const print of Object.values(TRANSPORT_OPTIONS)) lines.push(`  ${print(transport)}`);
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A double-quoted string the lexer decodes back to `text`: it knows the escapes \" \\
 * \n \t, and a string may not span lines, so a newline must be escaped. Every other
 * character (CR included) stands for itself.
 */
export function quote(text: string): string {
  return `"${text.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`;
}

function whole(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`cannot print ${n}: not a whole number`);
  return String(n);
}

function wholeSeconds(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms % 1000 !== 0) throw new RangeError(`cannot print ${ms} ms as whole seconds`);
  return String(ms / 1000);
}

/** Exact decimal seconds (0.001 steps), never through float division: 1234567 -> 1234.567. */
function fractionalSeconds(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`cannot print ${ms} ms as seconds`);
  const fraction = String(ms % 1000).padStart(3, '0').replace(/0+$/, '');
  return fraction === '' ? String(Math.floor(ms / 1000)) : `${Math.floor(ms / 1000)}.${fraction}`;
}

function octal(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) throw new RangeError(`cannot print mode ${mode}`);
  return `0${mode.toString(8).padStart(3, '0')}`;
}
