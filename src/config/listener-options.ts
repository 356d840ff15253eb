// The options of ESMTP_Listener, LMTP_Listener and Listen (the same set; a Listen's own win), one row
// each: reader, default, printer and doc line; and the Momentum listener options smtpipe
// knows but does not implement. listener-schema.ts folds the two scopes; this reads values.

import { isIP } from 'node:net';
import path from 'node:path';
import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import { hostnameProblem } from './hostnames.js';
import { readVerifyMode, type WrittenPath, type WrittenVerifyMode } from './listener-tls.js';
import { count, defineOptions, flag, fractionalSeconds, quote, quotedList, seconds, whole, wholeSeconds } from './option-table.js';
import { printThrottleRate, readThrottleRate, type ThrottleRate } from './throttle-rate.js';
import type { BareNewlinePolicy, ParsedListener, SourcePosition } from './types.js';
import { readScalarList, readText } from './values.js';

export interface ListenerOptions {
  readonly maxMessageBytes: number;
  readonly maxSessions: number;
  readonly idleTimeoutMs: number;
  readonly maxRecipientsPerMessage: number;
  /** null: os.hostname(). */
  readonly bannerHostname: string | null;
  readonly greetingPauseMs: number;
  readonly bareNewlines: BareNewlinePolicy;
  readonly maxReceptionsPerConnection: number;
  readonly maxRecipientsPerConnection: number;
  /** null: half of Listener_Sessions (defaults.ts). */
  readonly maxSessionsPerClient: number | null;
  readonly maxDataMs: number;
  /** SMTP_Extensions: STARTTLS (folded by listener-tls.ts with the TLS options), SMTPUTF8 and AUTH (listener-auth.ts). */
  readonly extensions: ListedExtensions;
  readonly certificate: WrittenPath | null;
  readonly key: WrittenPath | null;
  readonly clientCa: WrittenPath | null;
  readonly verifyMode: WrittenVerifyMode | null;
  readonly useSsl: boolean;
  readonly proxyProtocol: boolean;
  readonly proxyHosts: readonly string[];
  /** Enable = false: the Listen is checked like any other, then not bound. */
  readonly enable: boolean;
  readonly connectionThrottle: ThrottleRate | null;
  readonly messageThrottle: ThrottleRate | null;
  readonly authPasswordFile: WrittenPath | null;
  readonly authAllowPlaintext: boolean;
  readonly requireAuth: boolean;
  /** Require_TLS: MAIL before TLS (STARTTLS or Use_SSL) gets 530 5.7.0. */
  readonly requireTls: boolean;
}

/** Documented Momentum listener options accepted and ignored, with a warning each. */
export const MOMENTUM_UNSUPPORTED_LISTENER_OPTIONS: readonly string[] = [
  'TLS_Ciphers',
  'TLS_Protocols',
  'Accept_Queue_Backlog',
  'Concurrency',
  'Hostname',
];

/**
 * Momentum listener options refused at load, with what to write instead. Relay_Hosts names
 * the hosts that may relay; smtpipe never relays (it accepts only its pipe domains), so
 * the option has no faithful meaning here, and dropping it would leave the listener open
 * to the hosts it was meant to keep out (docs/operations.md "Relay_Hosts").
 */
export const MOMENTUM_REFUSED_LISTENER_OPTIONS: ReadonlyMap<string, string> = new Map([
  [
    'relay_hosts',
    'smtpipe does not relay, so Relay_Hosts cannot mean here what it means in Momentum; to say who may send, write Peer scopes: ' +
      'Peer "0.0.0.0/0" { Enable = false } Peer "::/0" { Enable = false } Peer "10.1.2.0/24" { Enable = true }',
  ],
]);

/** The SMTP_Extensions smtpipe offers only when they are listed. */
export interface ListedExtensions {
  readonly starttls: boolean;
  /** RFC 6531: UTF-8 addresses (src/delivery/address.ts), only in MAIL FROM ... SMTPUTF8 transactions. */
  readonly smtputf8: boolean;
  /** RFC 4954: AUTH PLAIN and LOGIN against Auth_Password_File (listener-auth.ts). */
  readonly auth: boolean;
}

/** SMTP_Extensions names smtpipe always offers (STARTTLS and SMTPUTF8 only when listed). */
const EXTENSIONS_ALWAYS_ON = new Set(['ENHANCEDSTATUSCODES', 'PIPELINING', '8BITMIME', 'SIZE']);

export const LISTENER_OPTIONS = defineOptions<ListenerOptions, ParsedListener>({
  maxMessageBytes: {
    name: 'Max_Message_Size',
    ...count({ min: 1, unit: 'bytes' }),
    default: '10240000',
    doc: 'advertised as `SIZE`; larger messages get `552 5.3.4 message size limit exceeded` and no program runs',
    print: (l) => whole(l.maxMessageBytes),
  },
  maxSessions: {
    name: 'Listener_Sessions',
    ...count({ min: 1 }),
    default: '500',
    doc: 'sessions open at once on one `Listen`, counted from the moment a connection is accepted (a TLS handshake, a greeting pause or a PROXY wait counts); more get `421 4.4.5 concurrency limit reached` (on a `Use_SSL` Listen, closed without a reply)',
    print: (l) => whole(l.maxSessions),
  },
  idleTimeoutMs: {
    name: 'Idle_Time',
    ...seconds({ min: 1 }),
    default: '300',
    doc: 'a silent client is closed with `421`; never counts while a delivery runs. A command line must also be complete within this time of its first byte: `421 4.4.2 command line took too long, closing`. A line over 16 KiB gets `421 4.5.2 command line too long, closing`',
    print: (l) => wholeSeconds(l.idleTimeoutMs),
  },
  maxRecipientsPerMessage: {
    name: 'Max_Recipients_Per_Message',
    ...count({ min: 1 }),
    default: '100',
    doc: '`RCPT TO` commands in one transaction, refused and repeated ones included (RFC 5321 4.5.3.1.10); the next ones get `452 4.5.3 too many recipients`',
    print: (l) => whole(l.maxRecipientsPerMessage),
  },
  bannerHostname: {
    name: 'Banner_Hostname',
    type: 'host name',
    defaultDoc: 'the host name',
    doc: 'name in the `220` greeting and the `Received:` line',
    read: readBannerHostname,
    print: (l) => quote(l.bannerHostname),
  },
  greetingPauseMs: {
    name: 'Greeting_Pause',
    ...seconds({ min: 0, fractional: true }),
    default: '0',
    doc: 'wait before the `220` (fractions allowed, e.g. 0.1); a client talking earlier gets `421 ... You talk too soon`',
    print: (l) => fractionalSeconds(l.greetingPauseMs),
  },
  bareNewlines: {
    name: 'Bare_Newlines',
    type: '"reject" or "normalize"',
    // Postfix 3.9's default, smtpd_forbid_bare_newline = normalize
    // (https://www.postfix.org/postconf.5.html#smtpd_forbid_bare_newline,
    // https://www.postfix.org/smtp-smuggling.html): DATA still ends only on CRLF.CRLF
    // (src/smtp/data-stream.ts), so "\n.\n" and friends stay content, and a bare LF is a
    // line ending. Python's smtplib.sendmail(msg.as_bytes()) and many scripts send bare LFs.
    default: '"normalize"',
    doc: 'a CR or LF outside CRLF in content: `"normalize"` makes it a line ending (as Postfix 3.9\'s default `smtpd_forbid_bare_newline = normalize`), `"reject"` answers `550 5.6.0` and runs no program. Either way DATA ends only on CRLF.CRLF, so a smuggled `\\n.\\n` stays content',
    read: readBareNewlines,
    print: (l) => quote(l.bareNewlines),
  },
  maxReceptionsPerConnection: {
    name: 'Max_Receptions_Per_Connection',
    // 0 = no limit: a relay's client may reuse one session for a whole queue run.
    ...count({ min: 0 }),
    default: '0',
    doc: 'messages per session, 0 = no limit; the next MAIL gets `421 4.7.0` and the session closes',
    print: (l) => whole(l.maxReceptionsPerConnection),
  },
  maxRecipientsPerConnection: {
    name: 'Max_Recipients_Per_Connection',
    ...count({ min: 0 }),
    default: '0',
    doc: 'RCPT accepted over a session, 0 = no limit; more get `452 4.5.3`',
    print: (l) => whole(l.maxRecipientsPerConnection),
  },
  maxSessionsPerClient: {
    name: 'Max_Sessions_Per_Client',
    ...count({ min: 0 }),
    defaultDoc: 'half of `Listener_Sessions`, rounded up (250)',
    doc: 'sessions at once from one client address (behind `Proxy_Protocol`, the header\'s); more get `421 4.7.0`. `0` turns it off: write it behind a load balancer without PROXY protocol, where every session comes from one address',
    print: (l) => whole(l.maxSessionsPerClient),
  },
  maxDataMs: {
    name: 'Max_Data_Time',
    // RFC 5321 4.5.3.2.6 gives a server 10 minutes per data block.
    ...seconds({ min: 1 }),
    default: '600',
    doc: 'the whole DATA phase, 354 to the final dot; past it `421 4.4.2`, the session closes, no program runs (slow-drip clients)',
    print: (l) => wholeSeconds(l.maxDataMs),
  },
  extensions: {
    name: 'SMTP_Extensions',
    type: 'list',
    defaultDoc: 'PIPELINING, 8BITMIME and SIZE, always offered',
    doc: 'add `"STARTTLS"` to offer STARTTLS (needs `TLS_Certificate` and `TLS_Key`); add `"AUTH"` to offer RFC 4954 AUTH PLAIN and LOGIN (needs `Auth_Password_File`; see `Auth_Allow_Plaintext`, `Require_Auth`); add `"SMTPUTF8"` to offer RFC 6531: in a `MAIL FROM:<...> SMTPUTF8` transaction, local parts and domains may be UTF-8 (valid UTF-8, no control or format characters), a domain is routed by its A-label form and programs get the address in UTF-8 with the domain in U-labels (`${domain}` too); without it, a UTF-8 local part gets `553 5.6.7`. `"ENHANCEDSTATUSCODES"`, `"PIPELINING"`, `"8BITMIME"`, `"SIZE"` are accepted silently; other names warn. A Listen\'s list replaces the `ESMTP_Listener`\'s',
    read: readExtensions,
    print: (l) => {
      const listed = [...(l.tls?.mode === 'starttls' ? ['STARTTLS'] : []), ...(l.smtputf8 ? ['SMTPUTF8'] : []), ...(l.auth ? ['AUTH'] : [])];
      return listed.length > 0 ? quotedList(listed) : null;
    },
  },
  certificate: {
    name: 'TLS_Certificate',
    type: 'path',
    defaultDoc: 'none',
    doc: 'PEM file (relative to the config file), read at start and on every SIGHUP; unreadable, not PEM or not a pair with `TLS_Key`: a config error at the option. There is no built-in certificate',
    read: readWrittenPath,
    print: (l) => (l.tls === null ? null : quote(fromConfigDirectory(l.tls.certificateFile, l.tls.certificatePosition))),
  },
  key: {
    name: 'TLS_Key',
    type: 'path',
    defaultDoc: 'none',
    doc: 'PEM file of the private key of `TLS_Certificate`, read with it',
    read: readWrittenPath,
    print: (l) => (l.tls === null ? null : quote(fromConfigDirectory(l.tls.keyFile, l.tls.keyPosition))),
  },
  clientCa: {
    name: 'TLS_Client_CA',
    type: 'path',
    defaultDoc: 'none',
    doc: 'PEM file of the CAs client certificates must chain to (relative to the config file, read with the certificate, again on every SIGHUP)',
    read: readWrittenPath,
    print: (l) =>
      l.tls?.clientCaFile == null || l.tls.clientCaPosition === null ? null : quote(fromConfigDirectory(l.tls.clientCaFile, l.tls.clientCaPosition)),
  },
  verifyMode: {
    name: 'TLS_Verify_Mode',
    type: '"none", "optional" or "require"',
    defaultDoc: '`"optional"` with a `TLS_Client_CA`, else `"none"`',
    doc: 'client certificates: `"none"` asks for none; `"optional"` asks, admits clients without one (or with one that does not verify) and logs the outcome; `"require"` refuses a client without a certificate that chains to `TLS_Client_CA`. `"require"` without TLS, or without a CA, is a config error',
    read: readVerifyMode,
    print: (l) => quote(l.tls?.verifyMode ?? 'none'),
  },
  useSsl: {
    name: 'Use_SSL',
    ...flag,
    default: 'false',
    doc: 'implicit TLS from the first byte (port 465 style); needs `TLS_Certificate` and `TLS_Key`. The handshake must finish within 10 s',
    print: (l) => String(l.tls?.mode === 'implicit'),
  },
  proxyProtocol: {
    name: 'Proxy_Protocol',
    ...flag,
    default: 'false',
    doc: 'every session starts with a PROXY header, v1 (HAProxy `send-proxy`) or v2 (`send-proxy-v2`); its client address is the one logged and given to programs. A malformed header closes the connection unanswered, logged with the reason',
    print: (l) => String(l.proxy !== null),
  },
  proxyHosts: {
    name: 'Proxy_Hosts',
    type: 'list of addresses or CIDR blocks',
    // Behind a proxy on the same host by default; anything else must be listed.
    default: '( "127.0.0.0/8" "::1" )',
    doc: 'who may connect to a `Proxy_Protocol` Listen; any other peer gets `421 4.7.0` before anything is read, and a trusted peer must send its header within 10 s',
    read: readProxyHosts,
    print: (l) => (l.proxy === null ? null : quotedList(l.proxy.trustedHosts)),
  },
  enable: {
    name: 'Enable',
    ...flag,
    default: 'true',
    doc: '`false` leaves a Listen (or, at `ESMTP_Listener` scope, every Listen that does not say otherwise) unbound; it is still checked. Every Listen disabled is a config error. In a `Peer`, `false` answers its clients `554 5.7.1 access denied` instead of the greeting',
    // A disabled Listen is not in the config at all.
    print: () => 'true',
  },
  // Per client address (behind Proxy_Protocol, the header's), counted per Listen in
  // bounded memory: src/smtp/rate-throttle.ts. Momentum's inbound_throttle_messages is
  // one rate for the whole server; a per-client one is what an operator of a pipe needs.
  connectionThrottle: {
    name: 'Inbound_Throttle_Connections',
    type: '"count/seconds"',
    defaultDoc: 'none (no limit)',
    doc: 'connections accepted from one client address (behind `Proxy_Protocol`, the header\'s) per window, counted per `Listen` (a bucket of `count`, refilled over `seconds`); past it `421 4.7.0 too many connections from your address, try again later` and the connection closes. `"count"` alone is per second; `"0"` turns it off. At most 65536 addresses are remembered per Listen, the least recently seen forgotten first',
    read: readThrottleRate,
    print: (l) => printThrottleRate(l.connectionThrottle),
  },
  messageThrottle: {
    name: 'Inbound_Throttle_Messages',
    type: '"count/seconds"',
    defaultDoc: 'none (no limit)',
    doc: '`MAIL FROM` commands from one client address per window, counted per `Listen` over all its sessions; past it `450 4.7.1 too many messages from your address, try again later` (the session stays open). Same form and memory bound as `Inbound_Throttle_Connections`',
    read: readThrottleRate,
    print: (l) => printThrottleRate(l.messageThrottle),
  },
  authPasswordFile: {
    name: 'Auth_Password_File',
    type: 'path',
    defaultDoc: 'none',
    doc: 'with `"AUTH"` in `SMTP_Extensions`: one `user:hash` per line (`#` comments), the hash as `smtpipe passwd` writes it (`$scrypt$N=16384,r=8,p=1$<salt>$<key>`); relative to the config file; read at start and on every SIGHUP (a broken file keeps the old one); a bad line is a config error at file:line',
    read: readWrittenPath,
    print: (l) => (l.auth === null ? null : quote(fromConfigDirectory(l.auth.passwordFile, l.auth.passwordFilePosition))),
  },
  authAllowPlaintext: {
    name: 'Auth_Allow_Plaintext',
    ...flag,
    default: 'false',
    doc: '`true` offers AUTH before TLS too (PLAIN and LOGIN then carry the password in clear); by default AUTH is offered only after STARTTLS or on a `Use_SSL` Listen',
    print: (l) => String(l.auth?.allowPlaintext ?? false),
  },
  requireAuth: {
    name: 'Require_Auth',
    ...flag,
    default: 'false',
    doc: '`true`: MAIL before a successful AUTH gets `530 5.7.0 Authentication required`; needs `"AUTH"` in `SMTP_Extensions`',
    print: (l) => String(l.requireAuth),
  },
  requireTls: {
    name: 'Require_TLS',
    ...flag,
    default: 'false',
    // RFC 3207 4: a server may require STARTTLS and answer 530 until it is issued.
    doc: 'MAIL before TLS (after `STARTTLS`, or on a `Use_SSL` Listen) gets `530 5.7.0 Must issue a STARTTLS command first`. On a Listen without TLS it is a config error. Settable per `Peer`, e.g. `false` for a trusted network',
    print: (l) => String(l.requireTls),
  },
});

/**
 * The listener options a `Peer "CIDR" { }` may set: those smtpipe reads per session or
 * per command (peer-table.ts resolves them once per session). The others belong to the
 * socket or the whole Listen (Listener_Sessions, TLS files, Idle_Time, Greeting_Pause,
 * Banner_Hostname, PROXY) and are a config error in a Peer. A new per-session option
 * (Require_Auth) joins by its field name here.
 */
export const PEER_FIELDS = [
  'maxMessageBytes',
  'maxRecipientsPerMessage',
  'maxReceptionsPerConnection',
  'maxRecipientsPerConnection',
  'maxDataMs',
  'bareNewlines',
  'requireTls',
  'requireAuth',
  'enable',
] as const satisfies ReadonlyArray<keyof ListenerOptions>;

export type PeerField = (typeof PEER_FIELDS)[number];

/**
 * A TLS file as loading reads it: a relative path starts from the directory of the file
 * that names it (tls-files.ts), which a printed config, one file elsewhere, no longer is.
 */
function fromConfigDirectory(file: string, at: SourcePosition): string {
  return path.resolve(path.dirname(at.file), file);
}

/** Which of STARTTLS and SMTPUTF8 are listed; other extensions smtpipe cannot offer are warned about. */
function readExtensions(opt: OptionNode, sink: DiagnosticSink): ListedExtensions | undefined {
  const items = readScalarList(opt, sink);
  if (items === undefined) return undefined;
  let starttls = false;
  let smtputf8 = false;
  let auth = false;
  for (const item of items) {
    const name = item.text.toUpperCase();
    if (name === 'STARTTLS') starttls = true;
    else if (name === 'SMTPUTF8') smtputf8 = true;
    else if (name === 'AUTH') auth = true;
    else if (!EXTENSIONS_ALWAYS_ON.has(name)) {
      sink.warn(ConfigCode.UNSUPPORTED_OPTION, item.position, `${opt.name}: smtpipe does not offer ${item.text}; ignored`);
    }
  }
  return { starttls, smtputf8, auth };
}

function readWrittenPath(opt: OptionNode, sink: DiagnosticSink): WrittenPath | undefined {
  const file = readText(opt, sink);
  if (file === undefined) return undefined;
  if (file === '') {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: expected a file path`);
    return undefined;
  }
  return { file, position: opt.value.position };
}

/** Addresses or CIDR blocks, checked here so net.BlockList never throws later. */
function readProxyHosts(opt: OptionNode, sink: DiagnosticSink): string[] | undefined {
  const items = readScalarList(opt, sink);
  if (items === undefined) return undefined;
  const hosts: string[] = [];
  for (const item of items) {
    const [address = '', prefix, extra] = item.text.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^[0-9]+$/.test(prefix) && bits !== undefined && bits <= maxBits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      sink.error(ConfigCode.INVALID_VALUE, item.position, `${opt.name}: ${JSON.stringify(item.text)} is not an IP address or CIDR block`);
      continue;
    }
    hosts.push(item.text.toLowerCase());
  }
  if (hosts.length === 0 && items.length === 0) {
    sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: list at least one trusted proxy address`);
  }
  return hosts;
}

function readBareNewlines(opt: OptionNode, sink: DiagnosticSink): BareNewlinePolicy | undefined {
  const text = readText(opt, sink)?.toLowerCase();
  if (text === 'reject' || text === 'normalize' || text === undefined) return text;
  sink.error(ConfigCode.INVALID_VALUE, opt.value.position, `${opt.name}: expected "reject" or "normalize", got ${JSON.stringify(text)}`);
  return undefined;
}

/** Goes into the 220 greeting and Received: lines, so it must be one clean word. */
function readBannerHostname(opt: OptionNode, sink: DiagnosticSink): string | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const problem = hostnameProblem(text);
  if (problem === undefined) return text;
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: ${JSON.stringify(text)} is not a host name: ${problem}`,
  );
  return undefined;
}
