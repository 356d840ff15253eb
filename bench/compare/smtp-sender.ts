// One message over one raw SMTP session, lock-step (RFC 5321 3.3): for the held-large group,
// whose messages differ from each other (smtp-load sends one message over and over). Writes
// the caller's buffers as they are (already dot-stuffed); never throws: the outcome is a value.

import net from 'node:net';
import { ReplyParser } from 'smtp-load';

export interface SendOptions {
  readonly port: number;
  readonly from: string;
  readonly to: string;
  /** The message on the wire, dot-stuffed, CRLF, without the final ".\r\n". */
  readonly parts: readonly Buffer[];
  /** For the whole session, greeting to final reply. */
  readonly timeoutMs: number;
  /** Called once the final dot is handed to the kernel. */
  readonly onDotSent?: () => void;
}

export interface SendOutcome {
  /** The final reply's code (after the dot), or the code that refused the envelope; 0 = none. */
  readonly code: number;
  /** Where the session stopped when there was no final reply, or what was refused. */
  readonly error: string | null;
  readonly dotSent: boolean;
}

type Stage = 'greeting' | 'ehlo' | 'mail' | 'rcpt' | 'data' | 'dot' | 'done';
const EXPECTED: Readonly<Record<Exclude<Stage, 'dot' | 'done'>, number>> = { greeting: 220, ehlo: 250, mail: 250, rcpt: 250, data: 354 };

export function sendMessage(options: SendOptions): Promise<SendOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ port: options.port, host: '127.0.0.1' });
    let stage: Stage = 'greeting';
    let dotSent = false;
    const finish = (code: number, error: string | null) => {
      if (stage === 'done') return;
      stage = 'done';
      clearTimeout(timer);
      if (socket.writable) socket.end('QUIT\r\n');
      setTimeout(() => socket.destroy(), 1000).unref();
      resolve({ code, error, dotSent });
    };
    const timer = setTimeout(() => finish(0, `no reply at ${stage} within ${options.timeoutMs} ms`), options.timeoutMs);
    const parser = new ReplyParser((code) => {
      if (stage === 'done') return;
      if (stage === 'dot') return finish(code, null);
      if (code !== EXPECTED[stage]) return finish(code, `${stage} answered ${code || 'with a malformed line'}`);
      if (stage === 'greeting') {
        stage = 'ehlo';
        socket.write('EHLO bench.test\r\n');
      } else if (stage === 'ehlo') {
        stage = 'mail';
        socket.write(`MAIL FROM:<${options.from}>\r\n`);
      } else if (stage === 'mail') {
        stage = 'rcpt';
        socket.write(`RCPT TO:<${options.to}>\r\n`);
      } else if (stage === 'rcpt') {
        stage = 'data';
        socket.write('DATA\r\n');
      } else {
        stage = 'dot';
        for (const part of options.parts) socket.write(part);
        socket.write('.\r\n', () => {
          dotSent = true;
          options.onDotSent?.();
        });
      }
    });
    socket.on('data', (chunk: Buffer) => parser.push(chunk));
    socket.on('error', (err) => finish(0, `${stage}: ${err.message}`));
    socket.on('close', () => finish(0, `${stage}: closed by the server`));
  });
}
