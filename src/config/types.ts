// The configuration every other module reads, in two stages: ParsedConfig is what the
// pure schema makes of the text; Config adds what only the host can tell (who programs
// run as, the PEM text of TLS files). Built and frozen only by src/config/load.ts.

import type { ProgramTemplate } from './program-argv.js';
import type { ScryptHash } from './password-file.js';
import type { RecipientCheck } from './recipient-check.js';
import type { ThrottleRate } from './throttle-rate.js';

/** Where a setting was written, for diagnostics that name file:line:col. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** One problem found while loading a config; `severity` warning never stops a load. */
export interface ConfigDiagnostic extends SourcePosition {
  readonly severity: 'error' | 'warning';
  /** Stable code, e.g. ERR_CONFIG_SYNTAX, ERR_CONFIG_UNKNOWN_OPTION, WARN_CONFIG_IGNORED_STANZA. */
  readonly code: string;
  readonly message: string;
}

/** A reply line from a `code` map, sent verbatim: `550 command failed` -> {550, "command failed"}. */
export interface MappedReply {
  readonly code: number;
  readonly text: string;
}

/**
 * How exit statuses without a `code` entry become replies (src/delivery/exit-presets.ts):
 * Momentum's (0 ok, else 504 5.5.0), <sysexits.h> as Postfix's pipe(8), or qmail-local's.
 */
export type ExitCodePreset = 'momentum' | 'sysexits' | 'qmail';

/** Which output stream of a failed program may word its reply; 'none': neither. */
export type ReplyFromOutput = 'none' | 'stdout' | 'stderr';

/** One `Listen` of an `ESMTP_Listener`, with listener-scope options folded in (Listen wins). */
export interface ListenerConfig extends ParsedListener {
  readonly tls: ListenerTls | null;
}

/** Which stanza a Listen belongs to: ESMTP_Listener or LMTP_Listener. */
export type ListenerProtocol = 'smtp' | 'lmtp';

/** A Listen as the schema reads it: its TLS files named, not read yet. */
export interface ParsedListener {
  /** The Listen name as written, e.g. "127.0.0.1:2525", "[::1]:2525", ":25". */
  readonly label: string;
  /** undefined means every address (":25"). IPv6 without brackets. */
  readonly host: string | undefined;
  readonly port: number;
  /**
   * 'lmtp' for a Listen of an LMTP_Listener (RFC 2033): LHLO instead of HELO/EHLO, and
   * after the message one reply per accepted recipient, each from its own program run.
   */
  readonly protocol: ListenerProtocol;
  /** Max_Message_Size, bytes; advertised as SIZE. */
  readonly maxMessageBytes: number;
  /** Listener_Sessions: concurrent sessions on this Listen. */
  readonly maxSessions: number;
  /** Idle_Time, converted to ms. */
  readonly idleTimeoutMs: number;
  /** Max_Recipients_Per_Message. */
  readonly maxRecipientsPerMessage: number;
  /** Banner_Hostname: the name in the 220 greeting and our Received: line. */
  readonly bannerHostname: string;
  /** Greeting_Pause (seconds in the file, ms here): wait before 220; 0 = greet at once. */
  readonly greetingPauseMs: number;
  /**
   * Bare_Newlines: what to do with a bare CR or LF in message content (RFC 5321 2.3.8
   * allows neither; they are how SMTP smuggling hides a second end-of-data).
   * 'reject' answers 550 5.6.0; 'normalize' turns each into the transport's line ending.
   */
  readonly bareNewlines: BareNewlinePolicy;
  /** Max_Receptions_Per_Connection: messages one session may send; 0 = no limit. */
  readonly maxReceptionsPerConnection: number;
  /** Max_Recipients_Per_Connection: RCPT accepted over one session; 0 = no limit. */
  readonly maxRecipientsPerConnection: number;
  /**
   * Max_Sessions_Per_Client: sessions open at once from one client address (behind
   * PROXY, the header's); 0 = no limit. Unset: half of Listener_Sessions, rounded up.
   */
  readonly maxSessionsPerClient: number;
  /** Max_Data_Time (seconds in the file): the whole DATA phase, from 354 to the final dot. */
  readonly maxDataMs: number;
  /** STARTTLS (SMTP_Extensions) or implicit TLS (Use_SSL); null = plain SMTP only. */
  readonly tls: ParsedTls | null;
  /**
   * SMTP_Extensions lists SMTPUTF8 (RFC 6531): offered in EHLO, and MAIL FROM ...
   * SMTPUTF8 transactions take UTF-8 addresses (src/delivery/address.ts).
   */
  readonly smtputf8: boolean;
  /** Proxy_Protocol = true: every session starts with a PROXY v1 header from a trusted proxy. */
  readonly proxy: ListenerProxy | null;
  /** Inbound_Throttle_Connections: per client address and Listen; null = no limit. */
  readonly connectionThrottle: ThrottleRate | null;
  /** Inbound_Throttle_Messages: MAIL commands per client address and Listen; null = no limit. */
  readonly messageThrottle: ThrottleRate | null;
  /** SMTP AUTH (RFC 4954): SMTP_Extensions lists "AUTH"; null = not offered. */
  readonly auth: ListenerAuth | null;
  /** Require_Auth: MAIL before a successful AUTH gets 530 5.7.0. */
  readonly requireAuth: boolean;
  /** Require_TLS: MAIL before TLS gets 530 5.7.0 (RFC 3207 4). */
  readonly requireTls: boolean;
  /**
   * The `Peer "CIDR" { }` scopes of this Listen and of its ESMTP_Listener/LMTP_Listener,
   * most specific first (src/config/peer-scope.ts); empty: every client alike.
   */
  readonly peers: readonly PeerRule[];
  readonly position: SourcePosition;
}

/** AUTH PLAIN and LOGIN against Auth_Password_File (src/smtp/session-auth.ts). */
export interface ListenerAuth {
  /** Auth_Password_File as written, and where (a relative path starts from that file's directory). */
  readonly passwordFile: string;
  readonly passwordFilePosition: SourcePosition;
  /** Auth_Allow_Plaintext: offer AUTH before TLS too (else only after STARTTLS, or with Use_SSL). */
  readonly allowPlaintext: boolean;
  /**
   * The users and their hashes, read by the loader (src/config/password-file.ts): part of
   * the snapshot, so SIGHUP re-reads the file and a broken one keeps the old. null until
   * read (parseConfigText reads no file): every AUTH then fails.
   */
  readonly users: ReadonlyMap<string, ScryptHash> | null;
}


/** One `Peer "CIDR" { }`: the client block and the listener options it overrides. */
export interface PeerRule {
  /** As written, e.g. "10.0.0.0/8", "::1". */
  readonly label: string;
  readonly family: 'ipv4' | 'ipv6';
  /** The network address (host bits as written; matching ignores them). */
  readonly network: string;
  /** Prefix length; an address without one is /32 or /128. */
  readonly prefix: number;
  /** Only the options the Peer sets (listener-options.ts PEER_FIELDS). */
  readonly overrides: PeerOverrides;
  readonly position: SourcePosition;
}

/** The per-session listener options a Peer may set; Enable = false refuses its clients. */
export interface PeerOverrides {
  readonly maxMessageBytes?: number;
  readonly maxRecipientsPerMessage?: number;
  readonly maxReceptionsPerConnection?: number;
  readonly maxRecipientsPerConnection?: number;
  readonly maxDataMs?: number;
  readonly bareNewlines?: BareNewlinePolicy;
  readonly requireTls?: boolean;
  readonly requireAuth?: boolean;
  readonly enable?: boolean;
}

export interface ListenerTls extends ParsedTls {
  /**
   * The PEM text of both files, read by the loader (src/config/tls-files.ts): part of the
   * config snapshot, so a reload swaps certificate and options together.
   */
  readonly certificatePem: string;
  readonly keyPem: string;
  /** The PEM text of TLS_Client_CA, read with the other two; '' without one. */
  readonly clientCaPem: string;
}

export interface ParsedTls {
  /** 'starttls': plain session, upgraded on STARTTLS; 'implicit': TLS from the first byte. */
  readonly mode: 'starttls' | 'implicit';
  /** TLS_Certificate and TLS_Key as written, with where they were written. */
  readonly certificateFile: string;
  readonly keyFile: string;
  readonly certificatePosition: SourcePosition;
  readonly keyPosition: SourcePosition;
  /**
   * TLS_Verify_Mode: 'none' asks for no client certificate; 'optional' asks, admits a
   * client without one (or with one that does not verify) and records the outcome;
   * 'require' refuses a client without a certificate that chains to TLS_Client_CA.
   */
  readonly verifyMode: ClientVerifyMode;
  /** TLS_Client_CA as written, with where; null when verifyMode is 'none'. */
  readonly clientCaFile: string | null;
  readonly clientCaPosition: SourcePosition | null;
}

export type ClientVerifyMode = 'none' | 'optional' | 'require';

export interface ListenerProxy {
  /** Proxy_Hosts: addresses and CIDR blocks allowed to connect and send the header. */
  readonly trustedHosts: readonly string[];
}

export type LineEnding = 'lf' | 'crlf';

export type BareNewlinePolicy = 'reject' | 'normalize';

/** One `pipe_transport "name" { }` stanza, its accounts resolved. */
export interface TransportConfig extends ParsedTransport {
  /**
   * Who the program runs as; null = as smtpipe itself. Resolved from user, group,
   * allow_root and smtpipe's own uid by loadConfig (src/config/accounts.ts).
   */
  readonly runAs: RunAs | null;
}

/** A pipe_transport as the schema reads it: user and group as written, not looked up. */
export interface ParsedTransport {
  readonly name: string;
  /** program_name as written (may hold arguments and ${macros}). */
  readonly programName: string;
  /** program_name compiled (program-argv.ts): the program, its argument template, singleRecipient. */
  readonly program: ProgramTemplate;
  /** null = /dev/null. */
  readonly outputFile: string | null;
  readonly errorFile: string | null;
  /** File creation modes (octal in the file, e.g. 0640). */
  readonly outputMode: number;
  readonly errorMode: number;
  /** Lower-cased domains; a leading "*." is a wildcard for any subdomain. */
  readonly domains: readonly string[];
  /** Exit status -> reply line, sent verbatim. */
  readonly codes: ReadonlyMap<number, MappedReply>;
  /** `exit_codes`, or the global `Exit_Codes` where the transport does not say. */
  readonly exitCodes: ExitCodePreset;
  /** `reply_from_output`: whose first status line words a failed run's reply. */
  readonly replyFromOutput: ReplyFromOutput;
  readonly timeoutMs: number;
  /** Programs of this transport running at once. */
  readonly concurrency: number;
  readonly eol: LineEnding;
  readonly receivedHeader: boolean;
  readonly returnPathHeader: boolean;
  readonly deliveredToHeader: boolean;
  /** Extra environment entries from `env = [ NAME = "value" ]`. */
  readonly env: Readonly<Record<string, string>>;
  /** `user`: a name or a numeric uid, as written; null = not set. Resolved into runAs. */
  readonly user: WrittenValue | null;
  /** `group`: a name or a numeric gid, as written; overrides the user's primary group. */
  readonly group: WrittenValue | null;
  /** `allow_root`: the program may run with uid or gid 0. */
  readonly allowRoot: boolean;
  /** `directory`: the program's working directory (absolute); null = smtpipe's own. */
  readonly directory: WrittenValue | null;
  /** `umask`: the program's file creation mask; null = smtpipe's own. */
  readonly umask: number | null;
  /** `recipient_check`: a program run at RCPT for each recipient (exit 0 accepts); null = none. */
  readonly recipientCheck: RecipientCheck | null;
  /** `recipient_check_timeout`, ms: then SIGTERM/SIGKILL to the check and `451 4.3.0`. */
  readonly recipientCheckTimeoutMs: number;
  /** `recipient_check_concurrency`: checks of this transport running at once, apart from deliveries. */
  readonly recipientCheckConcurrency: number;
  /** Where program_name, output_file and error_file were written, for the host checks at load; absent: not written. */
  readonly places: TransportPlaces;
  readonly position: SourcePosition;
}

export interface TransportPlaces {
  readonly programName?: SourcePosition;
  readonly outputFile?: SourcePosition;
  readonly errorFile?: SourcePosition;
}

/** A text option kept as written, with its place, for the checks made after the schema. */
export interface WrittenValue {
  readonly text: string;
  readonly position: SourcePosition;
}

/** The ids a program runs under; it gets no supplementary groups. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

export interface MetricsListen {
  /** As written, e.g. "127.0.0.1:9465". */
  readonly label: string;
  /** undefined = every address. */
  readonly host: string | undefined;
  readonly port: number;
}

/** Worker pool sizing (global options). */
export interface PoolConfig {
  /** Pool_Threads: Piscina worker threads. */
  readonly threads: number;
  /** Pool_Tasks_Per_Thread: programs one worker thread supervises at once. */
  readonly tasksPerThread: number;
  /** Pool_Max_Queue: messages waiting for a program slot, all transports together. */
  readonly maxQueue: number;
  /**
   * Spawner: how workers start programs. 'native' is the posix_spawn addon (its cost does
   * not grow with the daemon's memory), 'child_process' Node's fork-based spawn, 'auto'
   * native when its start-up self-test passes, else child_process.
   */
  readonly spawner: 'auto' | 'native' | 'child_process';
}

/** The loaded configuration: every file and account it names checked and resolved. */
export interface Config extends ParsedConfig {
  readonly listeners: readonly ListenerConfig[];
  readonly transports: readonly TransportConfig[];
}

/** What the pure schema makes of the text (parseConfigText): no file read, no account looked up. */
export interface ParsedConfig {
  /** Absolute path of the main config file. */
  readonly file: string;
  readonly listeners: readonly ParsedListener[];
  readonly transports: readonly ParsedTransport[];
  readonly pool: PoolConfig;
  /** Shutdown_Timeout, ms: how long a SIGTERM drain may take before it forces. */
  readonly shutdownTimeoutMs: number;
  /** Metrics_Listen: where /metrics, /healthz and /readyz are served; null = off. */
  readonly metricsListen: MetricsListen | null;
  readonly spool: SpoolConfig;
  /** Exit_Codes: the exit_codes of every transport that does not set its own. */
  readonly exitCodes: ExitCodePreset;
  /** Max_Received_Headers: more Received: fields than this is a mail loop (554 5.4.6). */
  readonly maxReceivedHeaders: number;
  /**
   * Processes: SMTP front ends (src/ops/cluster-primary.ts); 1 = this process serves alone.
   * "auto" is resolved here to the CPUs the process may use.
   */
  readonly processes: number;
}

/** Where message bytes live between DATA and the end of their delivery (src/message). */
export interface SpoolConfig {
  /** Max_Memory_In_Flight: message bytes held in memory, all sessions together. */
  readonly memoryBytes: number;
  /** Spool_Threshold: a larger message always goes to a spool file. */
  readonly thresholdBytes: number;
  /**
   * Spool_Directory, absolute: where the anonymous spool files are created. Its position is
   * where it is written, or line 1 of the main file for the default (TMPDIR, else /var/tmp).
   */
  readonly directory: WrittenValue;
}
