// A raw SMTP client for tests: real TCP, exact bytes out, replies parsed as sent.
import net from 'node:net';

export interface Reply {
  code: number;
  /** All lines joined with \n, each without its "NNN-" prefix. */
  text: string;
  /** The last line as sent, e.g. "250 2.0.0 Ok: queued as X". */
  line: string;
}

export class SmtpClient {
  readonly #socket: net.Socket;
  #buffer = '';
  readonly #replies: Reply[] = [];
  readonly #waiters: Array<(reply: Reply) => void> = [];
  #pendingLines: string[] = [];
  closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (data: string) => this.#onData(data));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
  }

  /** A client on a socket already connected: a TLS socket (implicit TLS, or after STARTTLS). */
  static over(socket: net.Socket): SmtpClient {
    return new SmtpClient(socket);
  }

  get socket(): net.Socket {
    return this.#socket;
  }

  /** Replies received and not yet read. */
  get unread(): readonly Reply[] {
    return this.#replies;
  }

  /** Stops reading, so that the socket can be handed to tls.connect after STARTTLS. */
  detach(): net.Socket {
    this.#socket.removeAllListeners('data');
    return this.#socket;
  }

  /** `localAddress` binds our end, e.g. 127.0.0.5, to tell clients apart on loopback. */
  static connect(port: number, host = '127.0.0.1', localAddress?: string): Promise<SmtpClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host, localAddress }, () => resolve(new SmtpClient(socket)));
      socket.once('error', reject);
    });
  }

  #onData(data: string) {
    this.#buffer += data;
    let index: number;
    while ((index = this.#buffer.indexOf('\r\n')) !== -1) {
      const line = this.#buffer.slice(0, index);
      this.#buffer = this.#buffer.slice(index + 2);
      this.#pendingLines.push(line);
      if (/^\d{3}-/.test(line)) continue;
      const reply: Reply = {
        code: Number(line.slice(0, 3)),
        text: this.#pendingLines.map((l) => l.slice(4)).join('\n'),
        line,
      };
      this.#pendingLines = [];
      const waiter = this.#waiters.shift();
      if (waiter) waiter(reply);
      else this.#replies.push(reply);
    }
  }

  /** The next reply (already received or still to come). */
  reply(timeoutMs = 15000): Promise<Reply> {
    const queued = this.#replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no SMTP reply in time')), timeoutMs);
      this.#waiters.push((reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
    });
  }

  write(raw: string | Buffer): void {
    this.#socket.write(raw);
  }

  /** Sends one command line and returns its reply. */
  async command(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** EHLO/MAIL/RCPT.../DATA/body/. : returns the reply to the final dot (or the first failure). */
  async sendMail(from: string, to: string[], body: string): Promise<Reply> {
    const mail = await this.command(`MAIL FROM:<${from}>`);
    if (mail.code !== 250) return mail;
    let accepted = 0;
    let lastRefusal: Reply | undefined;
    for (const rcpt of to) {
      const reply = await this.command(`RCPT TO:<${rcpt}>`);
      if (reply.code === 250) accepted += 1;
      else lastRefusal = reply;
    }
    if (accepted === 0) {
      await this.command('RSET');
      return lastRefusal as Reply;
    }
    const data = await this.command('DATA');
    if (data.code !== 354) return data;
    this.write(`${dotStuff(body)}.\r\n`);
    return this.reply();
  }

  async quit(): Promise<void> {
    this.write('QUIT\r\n');
    await this.closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** RFC 5321 4.5.2 transparency, and a final CRLF. */
export function dotStuff(body: string): string {
  const normalized = body.endsWith('\r\n') ? body : `${body}\r\n`;
  return normalized.replace(/^\./gm, '..');
}

/** Connects, reads the greeting, says EHLO. */
export async function openSession(port: number, helo = 'client.test'): Promise<SmtpClient> {
  const client = await SmtpClient.connect(port);
  const greeting = await client.reply();
  if (greeting.code !== 220) throw new Error(`greeting: ${greeting.line}`);
  const ehlo = await client.command(`EHLO ${helo}`);
  if (ehlo.code !== 250) throw new Error(`EHLO: ${ehlo.line}`);
  return client;
}
