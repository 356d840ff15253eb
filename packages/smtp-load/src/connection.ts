// One SMTP client connection slot of a run: connect, 220, EHLO (HELO if refused), then
// message transactions as long as the run hands them out, reconnecting after
// --per-conn messages or a failure. Knows nothing of rates, totals or deadlines.
//
// States (one socket):  greeting -> ehlo [-> helo] -> idle
//   idle -> [waiting for the rate] -> mail -> rcpt x N -> data -> body -> idle
//   idle -> pipe (replies to MAIL+RCPT*+DATA written at once, RFC 2920) -> body -> idle
//   a refused envelope -> rset -> idle;  nothing left -> QUIT (not awaited, as Postfix
//   does) -> done.  Lost socket or reply timeout -> reconnect (after a pause if the
//   greeting never completed).

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Connection, ConnectionConfig, ConnectionHost } from './connection-contract.js';
import { ReplyParser } from './reply-parser.js';
import { countError, countOutcome, recordMs } from './stats.js';

type State = 'greeting' | 'ehlo' | 'helo' | 'idle' | 'waiting' | 'mail' | 'rcpt' | 'data' | 'pipe' | 'body' | 'abort-body' | 'rset' | 'backoff' | 'done';

/** Pause before reconnecting when a connection failed before its greeting completed. */
const RECONNECT_PAUSE_MS = 100;
/** A message may start this much before its intended time (-R), absorbing timer lateness. */
const TIMER_SLACK_MS = 1;
const LONE_DOT = Buffer.from('.\r\n', 'latin1');
const noop = (): void => {};

export function createConnection(config: ConnectionConfig, host: ConnectionHost): Connection {
  return new SmtpLoadConnection(config, host);
}

class SmtpLoadConnection implements Connection {
  private state: State = 'idle';
  /** Set once finish() has told the host. */
  private stopped = false;
  private socket: net.Socket | null = null;
  private readonly parser: ReplyParser;
  private usePipelining = false;
  private messagesOnSocket = 0;
  private lastErrorCode: string | null = null;
  /** When the awaited reply is overdue; Infinity when no reply is awaited. */
  private deadlineAt = Infinity;
  private connectAt = 0;
  /** When the command whose reply is awaited was written (or the previous pipelined reply came). */
  private phaseAt = 0;
  private intendedAt = 0;
  private startedAt = 0;
  private dotWriteAt = 0;
  private dotSentAt = NaN;
  /** A claimed message not yet started because its socket was lost while waiting. */
  private pendingIntended = NaN;
  private mailOk = false;
  private rcptIndex = 0;
  private rcptAccepted = 0;
  private failCode = 0;
  private pipeReplies = 0;
  private timer: NodeJS.Timeout | null = null;

  // Handlers bound once, shared by every socket of this slot.
  private readonly onData = (chunk: Buffer): void => this.parser.push(chunk);
  private readonly onError = (err: NodeJS.ErrnoException): void => {
    this.lastErrorCode = err.code ?? 'ERROR';
  };
  private readonly onClose = (): void => this.socketClosed();
  private readonly onBodyFlushed = (): void => {
    if (this.state === 'body' && Number.isNaN(this.dotSentAt)) {
      this.dotSentAt = performance.now();
      this.deadlineAt = this.dotSentAt + this.config.timeoutMs;
    }
  };
  private readonly onTimer = (): void => {
    this.timer = null;
    if (this.state === 'waiting') this.begin(this.intendedAt, performance.now());
    else if (this.state === 'backoff') {
      if (Number.isNaN(this.pendingIntended) && this.host.isOver()) this.finish();
      else this.open();
    }
  };

  constructor(
    private readonly config: ConnectionConfig,
    private readonly host: ConnectionHost,
  ) {
    this.parser = new ReplyParser((code) => this.onReply(code));
  }

  start(): void {
    this.open();
  }

  checkTimeout(now: number): void {
    if (now < this.deadlineAt) return;
    this.config.stats.timeouts += 1;
    const early = this.isGreeting();
    this.drop();
    this.afterLoss(early);
  }

  abort(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.socket) this.drop();
    this.finish();
  }

  private open(): void {
    this.state = 'greeting';
    this.messagesOnSocket = 0;
    this.usePipelining = false;
    this.lastErrorCode = null;
    this.parser.reset();
    this.connectAt = performance.now();
    this.deadlineAt = this.connectAt + this.config.timeoutMs;
    const socket = net.connect({ host: this.config.host, port: this.config.port });
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.socket = socket;
    this.config.stats.connectionsOpened += 1;
  }

  private write(buf: Buffer): void {
    (this.socket as net.Socket).write(buf);
    this.config.stats.bytesSent += buf.length;
    this.config.stats.bytesThisSecond += buf.length;
  }

  private await(buf: Buffer, state: State, now: number): void {
    this.write(buf);
    this.state = state;
    this.phaseAt = now;
    this.deadlineAt = now + this.config.timeoutMs;
  }

  private onReply(code: number): void {
    const now = performance.now();
    const { stats, commands } = this.config;
    stats.lastReplyAt = now;
    if (code === 0) return this.fail('PROTOCOL');
    const positive = code >= 200 && code < 300;
    switch (this.state) {
      case 'greeting':
        recordMs(stats.phases.connect, now - this.connectAt);
        if (!positive) return this.fail(`GREETING_${code}`, true);
        this.parser.captureText = true;
        return this.await(commands.ehlo, 'ehlo', now);
      case 'ehlo':
        this.parser.captureText = false;
        recordMs(stats.phases.ehlo, now - this.phaseAt);
        if (!positive) return this.await(commands.helo, 'helo', now);
        // RFC 2920 2: the client may pipeline only when EHLO listed PIPELINING.
        this.usePipelining = this.config.pipelining && this.parser.lines.some((line) => /^PIPELINING\b/i.test(line));
        if (this.usePipelining) stats.pipelinedConnections += 1;
        return this.next();
      case 'helo':
        if (!positive) return this.fail(`HELO_${code}`, true);
        return this.next();
      case 'mail':
        recordMs(stats.phases.mail, now - this.phaseAt);
        if (!positive) return this.envelopeFailed(code, now);
        return this.await(commands.rcpt[0] as Buffer, 'rcpt', now);
      case 'rcpt':
        recordMs(stats.phases.rcpt, now - this.phaseAt);
        if (positive) this.rcptAccepted += 1;
        else if (this.failCode === 0) this.failCode = code;
        this.rcptIndex += 1;
        if (this.rcptIndex < commands.rcpt.length) return this.await(commands.rcpt[this.rcptIndex] as Buffer, 'rcpt', now);
        if (this.rcptAccepted === 0) return this.envelopeFailed(this.failCode, now);
        return this.await(commands.data, 'data', now);
      case 'data':
        recordMs(stats.phases.data, now - this.phaseAt);
        if (code === 354) return this.sendBody();
        if (code < 400) return this.fail('PROTOCOL');
        return this.envelopeFailed(code, now);
      case 'pipe':
        return this.pipeReply(code, positive, now);
      case 'body':
        return this.finalReply(code, now);
      case 'abort-body':
        countOutcome(this.config.stats, this.failCode);
        return this.next();
      case 'rset':
        if (!positive) return this.fail(`RSET_${code}`);
        return this.next();
      default:
        // A reply nobody asked for: 421 before an idle close (RFC 5321 3.8), or a bad server.
        if (code === 421) {
          this.drop();
          return this.afterLoss(false);
        }
        return this.fail('UNEXPECTED_REPLY');
    }
  }

  /** The replies to MAIL, RCPT x N and DATA written in one batch, in order. */
  private pipeReply(code: number, positive: boolean, now: number): void {
    const { stats, commands } = this.config;
    const index = this.pipeReplies;
    this.pipeReplies += 1;
    if (index === 0) {
      recordMs(stats.phases.mail, now - this.phaseAt);
      this.mailOk = positive;
      if (!positive) this.failCode = code;
    } else if (index <= commands.rcpt.length) {
      recordMs(stats.phases.rcpt, now - this.phaseAt);
      if (positive) this.rcptAccepted += 1;
      else if (this.failCode === 0) this.failCode = code;
    } else {
      recordMs(stats.phases.data, now - this.phaseAt);
      if (code === 354) {
        if (this.mailOk && this.rcptAccepted > 0) return this.sendBody();
        // RFC 2920 3.1 says DATA must fail with no valid recipient; this server said 354,
        // so end the empty message at once and count the envelope's refusal.
        return this.await(LONE_DOT, 'abort-body', now);
      }
      if (code < 400) return this.fail('PROTOCOL');
      return this.envelopeFailed(this.failCode || code, now);
    }
    this.phaseAt = now;
    this.deadlineAt = now + this.config.timeoutMs;
  }

  private next(): void {
    this.state = 'idle';
    this.deadlineAt = Infinity;
    const { perConnection } = this.config;
    if (perConnection > 0 && this.messagesOnSocket >= perConnection) {
      this.quit();
      if (Number.isNaN(this.pendingIntended) && this.host.isOver()) return this.finish();
      return this.open();
    }
    let intended = this.pendingIntended;
    this.pendingIntended = NaN;
    if (Number.isNaN(intended)) intended = this.host.claim();
    if (Number.isNaN(intended)) {
      this.quit();
      return this.finish();
    }
    const now = performance.now();
    if (intended - now > TIMER_SLACK_MS) {
      // Only with -R (one Timeout per early message, off the full-speed path). Node timers
      // fire up to ~1 ms late, which the correction would charge to the server: aim early.
      this.state = 'waiting';
      this.intendedAt = intended;
      this.timer = setTimeout(this.onTimer, intended - now - TIMER_SLACK_MS);
      return;
    }
    this.begin(intended, now);
  }

  private begin(intended: number, now: number): void {
    const { stats, commands } = this.config;
    stats.sent += 1;
    this.messagesOnSocket += 1;
    this.intendedAt = intended;
    this.startedAt = now;
    this.mailOk = false;
    this.rcptIndex = 0;
    this.rcptAccepted = 0;
    this.failCode = 0;
    this.pipeReplies = 0;
    if (this.usePipelining) this.await(commands.pipelined, 'pipe', now);
    else this.await(commands.mail, 'mail', now);
  }

  private sendBody(): void {
    const { wire, stats } = this.config;
    const now = performance.now();
    const socket = this.socket as net.Socket;
    this.state = 'body';
    this.dotWriteAt = now;
    this.dotSentAt = NaN;
    this.deadlineAt = now + this.config.timeoutMs;
    socket.write(wire, this.onBodyFlushed);
    stats.bytesSent += wire.length;
    stats.bytesThisSecond += wire.length;
    // Nothing left buffered: the kernel took the whole message, final dot included, in
    // this write() (on loopback the syscall itself delivers it, and can take ~70 us), so
    // the dot counts as sent when write() began. Otherwise it leaves when the write
    // callback runs, which is all that can be observed of a large body's last bytes.
    if (socket.writableLength === 0) this.dotSentAt = now;
  }

  private finalReply(code: number, now: number): void {
    const { stats } = this.config;
    // From the final dot leaving for the kernel; if the reply beat the write callback, from the write.
    const ms = now - (Number.isNaN(this.dotSentAt) ? this.dotWriteAt : this.dotSentAt);
    recordMs(stats.phases.dot, ms);
    if (this.config.rateCorrection) {
      recordMs(stats.latencyUncorrected, ms);
      recordMs(stats.latency, ms + Math.max(0, this.startedAt - this.intendedAt));
    } else {
      recordMs(stats.latency, ms);
    }
    countOutcome(this.config.stats, code);
    if (code === 421) {
      this.drop();
      return this.afterLoss(false);
    }
    this.next();
  }

  private envelopeFailed(code: number, now: number): void {
    countOutcome(this.config.stats, code);
    if (code === 421) {
      // RFC 5321 3.8: the server is closing the channel; no RSET.
      this.drop();
      return this.afterLoss(false);
    }
    this.await(this.config.commands.rset, 'rset', now);
  }

  private fail(code: string, early = false): void {
    countError(this.config.stats, code);
    this.drop();
    this.afterLoss(early);
  }

  private isGreeting(): boolean {
    return this.state === 'greeting' || this.state === 'ehlo' || this.state === 'helo';
  }

  /** The socket closed by itself: count why, then carry on. */
  private socketClosed(): void {
    const { stats } = this.config;
    const early = this.isGreeting();
    const awaiting = this.deadlineAt !== Infinity;
    this.socket = null;
    this.parser.reset();
    this.deadlineAt = Infinity;
    const code = this.lastErrorCode;
    if (code === 'ECONNRESET' || code === 'EPIPE') stats.resets += 1;
    else if (code !== null) countError(stats, code);
    else if (awaiting) stats.resets += 1;
    this.afterLoss(early);
  }

  /** Forgets the current socket and destroys it. */
  private drop(): void {
    const socket = this.socket;
    this.socket = null;
    this.parser.reset();
    this.deadlineAt = Infinity;
    if (socket) {
      detach(socket);
      socket.destroy();
    }
  }

  /** QUIT without awaiting 221; the socket closes when the server does (or after the timeout). */
  private quit(): void {
    const socket = this.socket;
    this.socket = null;
    this.parser.reset();
    if (!socket) return;
    detach(socket);
    socket.unref();
    socket.resume();
    socket.setTimeout(this.config.timeoutMs, () => socket.destroy());
    socket.end(this.config.commands.quit);
    this.config.stats.bytesSent += this.config.commands.quit.length;
  }

  private afterLoss(early: boolean): void {
    if (this.stopped) return;
    if (this.state === 'waiting' && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
      this.pendingIntended = this.intendedAt;
    }
    if (Number.isNaN(this.pendingIntended) && this.host.isOver()) return this.finish();
    if (!early) return this.open();
    this.state = 'backoff';
    this.timer = setTimeout(this.onTimer, RECONNECT_PAUSE_MS);
  }

  private finish(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'done';
    this.deadlineAt = Infinity;
    this.host.finished();
  }
}

/** Takes our shared handlers off a socket we no longer follow; its late errors are ignored. */
function detach(socket: net.Socket): void {
  socket.removeAllListeners('data');
  socket.removeAllListeners('close');
  socket.removeAllListeners('error');
  socket.on('error', noop);
}
