// smtp-server, adapted in these places and nowhere else:
// 1. the pause before the 220 greeting is per listener (upstream hard-codes 100 ms in
//    SMTPConnection.init, which caps a connection-per-message client at 10 msg/s);
// 2. every connection carries the per-session state our hooks need;
// 3. a socket is admitted or refused the moment it is accepted, before any PROXY header
//    or TLS handshake is read (upstream's useProxy list would treat an untrusted peer as a
//    direct client instead), and counts against the limits until it closes
//    (src/smtp/session-admission.ts);
// 4. the PROXY header is ours (src/smtp/proxy-header.ts: strict v1 and v2; upstream reads
//    v1 loosely and answers IMAP's "* BAD"), and a TLS handshake has its own deadline;
// 5. the input parser is PipeStream, whose DATA decoding is upstream's at memchr speed
//    (src/smtp/data-stream.ts), and a command line has a deadline (line-deadline.ts);
// 6. HELO/EHLO take only a domain or an address literal (RFC 5321 4.1.1.1; upstream
//    takes any text without control characters, which reaches programs as ${client_helo});
// 7. MAIL FROM / RCPT TO accept quoted local parts (RFC 5321 4.1.2) that upstream's
//    _parseAddressCommand refuses (`"foo bar"@x`, `"foo..bar"@x`, `"x@y"@z`), and refuse
//    a line that is not valid UTF-8 (upstream decodes it with U+FFFD in place of the
//    bad bytes, so an address would silently change);
// 8. AUTH is listed in EHLO, and accepted, only over TLS unless Auth_Allow_Plaintext
//    (upstream lists it in clear, and refuses it there only when STARTTLS is on).
// All rely on smtp-server internals; assertUpstreamShape() (upstream-shape.ts) fails fast
// if they move: every PipeServer runs it when it is built.

import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { SMTPConnection, socketTimeout } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { PipeStream } from './data-stream.js';
import { isHeloArgument } from './helo-syntax.js';
import { maskQuotedLocalPart } from './path-syntax.js';
import { createLineDeadline } from './line-deadline.js';
import { readProxyHeader, type ProxyRead } from './proxy-reader.js';
import { formatReply, type SmtpReply } from './reply.js';
import type { RefusalStage } from './refusal-reasons.js';
import type { AdmissionTicket, Refusal, SessionAdmission } from './session-admission.js';
import { assertUpstreamShape } from './upstream-shape.js';

/** RFC 5321 4.5.3.1.4 lets a server refuse a long line; smtp-server's parser then stops, so we close. */
const REPLY_LINE_TOO_LONG: SmtpReply = { code: 421, text: '4.5.2 command line too long, closing' };
const REPLY_RECIPIENT_OK = '2.1.5 Ok';
const REPLY_AUTH_NEEDS_TLS: SmtpReply = { code: 538, text: '5.7.11 Encryption required for requested authentication mechanism' };
const REPLY_LINE_TOO_SLOW: SmtpReply = { code: 421, text: '4.4.2 command line took too long, closing' };
/** The reason of every closedSignal: one shared value, so a session's close allocates none. */
const SESSION_CLOSED = new Error('SMTP session closed');

/** Per-session state kept by src/smtp; the policy layer sees only `transaction`. */
export interface SessionState<T> {
  /** The transaction handler from MAIL FROM until the reply to DATA or RSET. */
  transaction: T | undefined;
  /** True from the end of DATA until its reply is sent: a delivery is running. */
  delivering: boolean;
  /** Messages received in full on this session (Max_Receptions_Per_Connection). */
  receptions: number;
  /** RCPT accepted on this session (Max_Recipients_Per_Connection). */
  recipients: number;
}

export class PipeConnection<T> extends SMTPConnection {
  readonly state: SessionState<T> = { transaction: undefined, delivering: false, receptions: 0, recipients: 0 };
  greetingPauseMs = 0;
  /**
   * This session's Max_Message_Size (its Peer's: session-hooks.ts), advertised as SIZE in
   * EHLO and the DATA limit; null: the server's `size`, which is the largest of them.
   */
  sizeLimit: number | null = null;
  onReply: (code: number) => void = () => {};
  /** A refusal smtp-server or this class sends itself (HELO syntax, SIZE at MAIL). */
  onRefusal: (stage: RefusalStage, reply: SmtpReply) => void = () => {};
  readonly #closed = new AbortController();
  #hideAuth = false;

  /** Aborts when the session's socket has closed (the client left, or we closed it). */
  get closedSignal(): AbortSignal {
    return this.#closed.signal;
  }

  // Upstream's one close path (socket 'close', or a close() of ours): after it no reply can reach the client.
  override _onClose(): void {
    super._onClose();
    // With a reason given, abort() skips building a DOMException (a stack capture) for
    // every session; nothing reads the reason.
    this.#closed.abort(SESSION_CLOSED);
  }

  // The single write site of every reply: counted here for the metrics.
  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    this.onReply(code);
    // Upstream's accepted RCPT says "Accepted": ours carries RFC 3463's 2.1.5 like every
    // other reply text (enhanced codes are ours to write, see reply.ts).
    if (context === 'RCPT_TO_OK') data = REPLY_RECIPIENT_OK;
    // The EHLO reply is the one multi-line reply with a SIZE keyword (RFC 1870).
    const size = this.sizeLimit;
    if (size !== null && Array.isArray(data)) data = data.map((line) => (/^SIZE \d+$/.test(line) ? `SIZE ${size}` : line));
    super.send(code, data, context);
  }

  // Mirrors upstream _createParser(), only with our stream class and its line deadline.
  // Called from the constructor and again after STARTTLS.
  override _createParser(): SMTPStream {
    const parser = new PipeStream({ maxCommandLength: this._server.options.maxCommandLength });
    parser.oncommand = (command, callback) => this._onCommand(command, callback);
    // The only error SMTPStream raises: a line over maxCommandLength (16 KiB).
    parser.on('error', () => this.send(REPLY_LINE_TOO_LONG.code, REPLY_LINE_TOO_LONG.text, false));
    // A trickle of bytes renews socketTimeout (Idle_Time) but not this: a command line
    // must be complete within Idle_Time of its first byte.
    const deadline = createLineDeadline(
      () => socketTimeout(this._server.options),
      () => {
        if (!parser.isClosed) this.send(REPLY_LINE_TOO_SLOW.code, REPLY_LINE_TOO_SLOW.text, false);
      },
    );
    parser.onPartialLine = (partial) => deadline.update(partial);
    // Upstream's handler_DATA passes the server's size; a Peer may set a smaller one.
    const startDataMode = parser.startDataMode.bind(parser);
    parser.startDataMode = (size) => startDataMode(this.sizeLimit ?? size);
    return parser;
  }

  // Replaces upstream init(), which waits a fixed 100 ms and checks maxClients (unused
  // here: Listener_Sessions is enforced when the socket is accepted, with our own reply).
  override init(): void {
    this._setListeners(() => {
      if (this.greetingPauseMs > 0) setTimeout(() => this.connectionReady(), this.greetingPauseMs).unref();
      else this.connectionReady();
    });
  }

  override handler_HELO(command: Buffer, callback: () => void): void {
    if (refuseHelo(this, command)) return callback();
    super.handler_HELO(command, callback);
  }

  override handler_EHLO(command: Buffer, callback: () => void): void {
    if (refuseHelo(this, command)) return callback();
    // RFC 4954 4: PLAIN and LOGIN send the password as it is, so AUTH is listed only once
    // the session is encrypted (upstream lists it in clear too) unless Auth_Allow_Plaintext.
    this.#hideAuth = !this.secure && !this._server.options.allowInsecureAuth;
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.#hideAuth = false;
    }
  }

  // Upstream answers AUTH in clear with 538 only when STARTTLS is on, and without RFC 4954's code.
  override handler_AUTH(command: Buffer, callback: () => void): void {
    if (this.secure || this._server.options.allowInsecureAuth) return super.handler_AUTH(command, callback);
    this.send(REPLY_AUTH_NEEDS_TLS.code, REPLY_AUTH_NEEDS_TLS.text, false);
    callback();
  }

  override _isDisabled(command: string): boolean {
    return (command === 'AUTH' && this.#hideAuth) || super._isDisabled(command);
  }

  // Upstream refuses a declared SIZE over the limit itself (RFC 1870 6.1): counted as a refusal.
  override _validateMailParams(parsed: Parameters<SMTPConnection['_validateMailParams']>[0]): ReturnType<SMTPConnection['_validateMailParams']> {
    const invalid = super._validateMailParams(parsed);
    if (invalid?.code === 552) this.onRefusal('mail', { code: 552, text: invalid.message, reason: 'size' });
    return invalid;
  }

  // Upstream parses the rest (parameters, source route, domain, length) of a line whose
  // quoted local part is masked; the local part then comes back exactly as sent.
  override _parseAddressCommand(rawName: string, rawCommand: Buffer | string): ReturnType<SMTPConnection['_parseAddressCommand']> {
    // RFC 6531 3.3 allows UTF-8 only; anything else is a syntax error (501), SMTPUTF8 or not.
    if (Buffer.isBuffer(rawCommand) && !isUtf8(rawCommand)) return false;
    const masked = maskQuotedLocalPart((rawCommand ?? '').toString());
    if (!masked) return super._parseAddressCommand(rawName, rawCommand);
    const parsed = super._parseAddressCommand(rawName, masked.command);
    if (parsed && parsed.address) parsed.address = masked.localPart + parsed.address.slice(parsed.address.indexOf('@'));
    return parsed;
  }
}

const REPLY_BAD_HELO = '5.5.2 syntax error in HELO/EHLO argument: domain or address literal required';

/** Sends 501 and returns true unless the command carries exactly one valid argument. */
function refuseHelo(connection: PipeConnection<unknown>, command: Buffer): boolean {
  const parts = command.toString().trim().split(/\s+/);
  if (parts.length === 2 && isHeloArgument(parts[1] as string)) return false;
  connection.send(501, REPLY_BAD_HELO, false);
  connection.onRefusal('helo', { code: 501, text: REPLY_BAD_HELO, reason: 'helo-syntax' });
  return true;
}

export interface PipeServerOptions {
  readonly smtp: SMTPServerOptions;
  readonly greetingPauseMs: number;
  /** Called with the code of every reply sent. */
  readonly onReply?: (code: number) => void;
  /** A reply to refuse a freshly accepted socket with, or null to let it in. */
  readonly refuseSocket?: (socket: net.Socket) => SmtpReply | null;
  /** Counts every accepted socket from accept to close; refuses those over a limit. */
  readonly admission?: SessionAdmission;
  /** Told of each socket the admission refused, and for which client address. */
  readonly onRefused?: (refusal: Refusal, client: string) => void;
  /** Told of each refusal a connection sends itself (PipeConnection.onRefusal). */
  readonly onRefusal?: (stage: RefusalStage, reply: SmtpReply, client: string, session: string) => void;
  /** A PROXY header was malformed or did not come: the socket is closed, unanswered. */
  readonly onProxyFailure?: (socket: net.Socket, failure: Extract<ProxyRead, { ok: false }>) => void;
}

/** A trusted proxy sends its header at once; a peer that does not is not one. */
const PROXY_HEADER_TIMEOUT_MS = 10_000;
/**
 * Upstream gives an implicit-TLS handshake socketTimeout (Idle_Time, 300 s): a cheap way
 * to hold a socket. A real client's handshake takes a few round trips.
 */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a refused socket may take to flush its one reply line before it is cut. */
const REFUSAL_FLUSH_MS = 1000;

/**
 * Sends `reply` and closes, or only closes when a TLS handshake is ahead (a TLS client
 * cannot read plaintext). The descriptor goes as soon as the line is flushed: refused
 * sockets are not counted, so they must not linger.
 */
function turnAway(socket: net.Socket, reply: SmtpReply, tlsAhead: boolean): void {
  socket.on('error', () => {});
  if (tlsAhead) {
    socket.destroy();
    return;
  }
  socket.end(`${formatReply(reply)}\r\n`, () => socket.destroy());
  setTimeout(() => socket.destroy(), REFUSAL_FLUSH_MS).unref();
}

export class PipeServer<T> extends SMTPServer {
  /** Applies to sessions accepted from now on. */
  greetingPauseMs: number;
  readonly #options: PipeServerOptions;
  readonly #bySession = new WeakMap<SMTPServerSession, PipeConnection<T>>();
  /** Each admitted socket's ticket: by its raw socket, and by its TLS socket once wrapped. */
  readonly #tickets = new WeakMap<net.Socket, AdmissionTicket>();
  readonly #ticketBySession = new WeakMap<SMTPServerSession, AdmissionTicket>();

  constructor(options: PipeServerOptions) {
    // Here, not at the caller's: every PipeServer (the bench's fixtures too) runs on
    // internals that were checked.
    assertUpstreamShape();
    // Our reply texts carry their own RFC 3463 enhanced code (reply.ts): smtp-server must
    // add none, whatever its default is in the next release.
    super({ ...options.smtp, hideENHANCEDSTATUSCODES: true });
    this.greetingPauseMs = options.greetingPauseMs;
    this.#options = options;
    // A session gives its ticket back when smtp-server closes it. The raw socket's 'close'
    // alone is not enough: STARTTLS (SMTPConnection.upgrade) removes every listener of
    // the raw socket, ours included. release() is idempotent, so both may fire.
    const onClose = this.onClose;
    this.onClose = (session, callback) => {
      this.#ticketBySession.get(session)?.release();
      onClose.call(this, session, callback);
    };
  }

  /** An implicit-TLS handshake follows the accept (and the PROXY header, if any). */
  get #tlsAhead(): boolean {
    return Boolean(this.options.secure && !this.options.needsUpgrade && !this.options.secured);
  }

  // Upstream guards a socket until its PROXY header / TLS handshake is done, and returns
  // false to drop it. We refuse earlier, with a reply, and count every socket we keep
  // until it closes: a socket in a handshake, a greeting pause or a PROXY wait holds a
  // descriptor as surely as a session does.
  override _acceptSocket(socket: net.Socket, handshake: boolean): (() => void) | false {
    const refusal = this.#options.refuseSocket?.(socket) ?? null;
    if (refusal) {
      turnAway(socket, refusal, false);
      return false;
    }
    if (socket.remoteAddress === undefined) {
      socket.destroy(); // Gone before we looked: nothing to count.
      return false;
    }
    const proxied = Boolean(this.options.useProxy);
    const admitted = this.#options.admission?.admit(proxied ? null : socket.remoteAddress);
    if (admitted && 'refusal' in admitted) {
      this.#options.onRefused?.(admitted.refusal, socket.remoteAddress);
      turnAway(socket, admitted.refusal.reply, handshake);
      return false;
    }
    if (admitted) {
      // Before the session exists (PROXY wait, TLS handshake), only the socket can say it
      // is gone; after, onClose does too (see the constructor).
      socket.once('close', () => admitted.ticket.release());
      this.#tickets.set(socket, admitted.ticket);
    }
    const release = super._acceptSocket(socket, handshake);
    // Upstream's guard waits Idle_Time; our header reader has its own, shorter deadline
    // and logs why. This is the backstop behind it.
    if (release && proxied) socket.setTimeout(PROXY_HEADER_TIMEOUT_MS + 1000);
    return release;
  }

  // Replaces upstream's PROXY v1 reader (lenient, "* BAD" on failure, nothing logged).
  override _handleProxy(socket: net.Socket, callback: Parameters<SMTPServer['_handleProxy']>[1]): void {
    if (!this.options.useProxy) {
      super._handleProxy(socket, callback);
      return;
    }
    readProxyHeader(socket, PROXY_HEADER_TIMEOUT_MS, (result) => {
      if (!result.ok) {
        this.#options.onProxyFailure?.(socket, result);
        socket.on('error', () => {});
        socket.destroy();
        callback(new Error(result.reason));
        return;
      }
      // UNKNOWN / LOCAL / AF_UNSPEC: the connection's own peer is the client (spec 2.1, 2.2).
      const client = result.client?.address ?? socket.remoteAddress ?? '';
      const refusal = this.#tickets.get(socket)?.claimClient(client) ?? null;
      if (refusal) {
        this.#options.onRefused?.(refusal, client);
        turnAway(socket, refusal.reply, this.#tlsAhead);
        callback(new Error(refusal.reply.text));
        return;
      }
      const id = BigInt(`0x${randomBytes(10).toString('hex')}`).toString(32).padStart(16, '0');
      callback(null, result.client ? { id, remoteAddress: result.client.address, remotePort: result.client.port } : { id });
    });
  }

  // Upstream arms socketTimeout (Idle_Time) on the TLS socket of an implicit-TLS
  // handshake; a handshake gets TLS_HANDSHAKE_TIMEOUT_MS instead. The TLS socket is the
  // one to time out: destroying the raw one under a running handshake crashes Node.
  override _upgrade(socket: net.Socket, callback: Parameters<SMTPServer['_upgrade']>[1]): void {
    super._upgrade(socket, (err, tlsSocket) => {
      const ticket = this.#tickets.get(socket);
      if (tlsSocket && ticket) this.#tickets.set(tlsSocket, ticket);
      callback(err, tlsSocket);
    });
    const tlsSocket = this._pendingSockets.get(socket);
    if (tlsSocket && tlsSocket !== socket) tlsSocket.setTimeout(TLS_HANDSHAKE_TIMEOUT_MS);
  }

  // Mirrors upstream connect(), only with our connection class.
  override connect(socket: net.Socket, socketOptions?: ConstructorParameters<typeof SMTPConnection>[2]): void {
    const connection = new PipeConnection<T>(this, socket, socketOptions);
    connection.greetingPauseMs = this.greetingPauseMs;
    if (this.#options.onReply) connection.onReply = this.#options.onReply;
    const onRefusal = this.#options.onRefusal;
    if (onRefusal) connection.onRefusal = (stage, reply) => onRefusal(stage, reply, connection.session.remoteAddress, connection.session.id);
    this.#bySession.set(connection.session, connection);
    const ticket = this.#tickets.get(socket);
    if (ticket) this.#ticketBySession.set(connection.session, ticket);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data) => this._onClientConnect(data));
    connection.init();
  }

  /** The connection a hook's session belongs to. */
  connectionOf(session: SMTPServerSession): PipeConnection<T> | undefined {
    return this.#bySession.get(session);
  }

  /** Open connections (smtp-server's own set, narrowed to our class). */
  openConnections(): PipeConnection<T>[] {
    return [...this.connections].filter((c): c is PipeConnection<T> => c instanceof PipeConnection);
  }
}
