#!/usr/bin/env node
// A minimal SMTP sink over raw net sockets, to measure the load generator itself:
// answers 220 / 250 / 354 / 250 as fast as it can, advertises PIPELINING, discards
// every message. Not a server: no limits and no checks beyond command names.
//
//   smtp-load-sink (node dist/src/raw-sink.js) [--port 2526] [--host 127.0.0.1]
//        [--data-reply "451 4.3.0 try later"] [--final-reply "554 5.0.0 no"]

import net from 'node:net';
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface RawSinkOptions {
  readonly host?: string;
  /** 0 (the default) lets the kernel pick. */
  readonly port?: number;
  /** Reply to DATA; anything but 354 keeps the session in command mode. Default "354 ...". */
  readonly dataReply?: string;
  /** Reply to the final dot. Default "250 2.0.0 discarded". */
  readonly finalReply?: string;
}

export interface RawSink {
  readonly host: string;
  readonly port: number;
  /** Messages received up to their final dot. */
  readonly messages: () => number;
  close(): Promise<void>;
}

const END_OF_DATA = Buffer.from('\r\n.\r\n', 'latin1');
const reply = (text: string): Buffer => Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'latin1');
/** The first four bytes of a command line, lower-cased, as one number. */
const verb = (s: string): number => s.charCodeAt(0) * 0x1000000 + ((s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3));
const EHLO = verb('ehlo');
const HELO = verb('helo');
const MAIL = verb('mail');
const RCPT = verb('rcpt');
const DATA = verb('data');
const RSET = verb('rset');
const NOOP = verb('noop');
const QUIT = verb('quit');

export async function startRawSink(options: RawSinkOptions = {}): Promise<RawSink> {
  const replies = {
    greeting: reply('220 raw-sink ESMTP'),
    ehlo: reply('250-raw-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8'),
    helo: reply('250 raw-sink'),
    ok: reply('250 2.0.0 ok'),
    data: reply(options.dataReply ?? '354 end with <CRLF>.<CRLF>'),
    final: reply(options.finalReply ?? '250 2.0.0 discarded'),
    quit: reply('221 2.0.0 bye'),
    unknown: reply('500 5.5.2 unknown command'),
  };
  const dataOpens = (options.dataReply ?? '354').startsWith('354');
  let messages = 0;
  const sockets = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let inData = false;
    let carry: Buffer | null = null;
    // The last (up to 4) bytes of message data seen, for an end marker split across chunks.
    const tail = Buffer.alloc(8);
    let tailBytes = 0;

    /** Index just after the end-of-data marker in chunk[start..], or -1 (tail updated). */
    const findEnd = (chunk: Buffer, start: number): number => {
      const head = Math.min(4, chunk.length - start);
      chunk.copy(tail, tailBytes, start, start + head);
      const window = tail.subarray(0, tailBytes + head);
      const inWindow = window.indexOf(END_OF_DATA);
      if (inWindow !== -1) return start + inWindow + END_OF_DATA.length - tailBytes;
      const inChunk = chunk.indexOf(END_OF_DATA, start);
      if (inChunk !== -1) return inChunk + END_OF_DATA.length;
      const keep = Math.min(4, window.length);
      if (chunk.length - start >= 4) chunk.copy(tail, 0, chunk.length - 4);
      else window.copy(tail, 0, window.length - keep);
      tailBytes = keep;
      return -1;
    };

    const command = (line: Buffer, start: number): boolean => {
      const code = (((line[start] ?? 0) | 0x20) * 0x1000000) + ((((line[start + 1] ?? 0) | 0x20) << 16) | (((line[start + 2] ?? 0) | 0x20) << 8) | ((line[start + 3] ?? 0) | 0x20));
      switch (code) {
        case MAIL:
        case RCPT:
        case RSET:
        case NOOP:
          socket.write(replies.ok);
          return true;
        case DATA:
          socket.write(replies.data);
          if (dataOpens) {
            inData = true;
            tail.write('\r\n', 0, 'latin1');
            tailBytes = 2;
          }
          return true;
        case EHLO:
          socket.write(replies.ehlo);
          return true;
        case HELO:
          socket.write(replies.helo);
          return true;
        case QUIT:
          socket.end(replies.quit);
          return false;
        default:
          socket.write(replies.unknown);
          return true;
      }
    };

    socket.on('data', (input: Buffer) => {
      let chunk = input;
      if (carry) {
        chunk = Buffer.concat([carry, input]);
        carry = null;
      }
      socket.cork();
      let at = 0;
      while (at < chunk.length) {
        if (inData) {
          const end = findEnd(chunk, at);
          if (end === -1) break;
          inData = false;
          messages += 1;
          socket.write(replies.final);
          at = end;
          continue;
        }
        const lf = chunk.indexOf(0x0a, at);
        if (lf === -1) {
          carry = Buffer.from(chunk.subarray(at));
          break;
        }
        if (!command(chunk, at)) break;
        at = lf + 1;
      }
      socket.uncork();
    });
    socket.write(replies.greeting);
  });
  server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as net.AddressInfo;
  return {
    host: address.address,
    port: address.port,
    messages: () => messages,
    async close() {
      const closed = once(server, 'close');
      server.close();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '2526' },
      host: { type: 'string', default: '127.0.0.1' },
      'data-reply': { type: 'string' },
      'final-reply': { type: 'string' },
    },
  });
  const sink = await startRawSink({ host: values.host, port: Number(values.port), dataReply: values['data-reply'], finalReply: values['final-reply'] });
  console.log(`raw-sink listening on ${sink.host}:${sink.port}`);
  const started = Date.now();
  const stop = (): void => {
    const seconds = (Date.now() - started) / 1000;
    console.log(`raw-sink: ${sink.messages()} messages in ${seconds.toFixed(1)}s`);
    void sink.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

// realpath: run as the smtp-load-sink bin, argv[1] is npm's symlink in node_modules/.bin.
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error('raw-sink:', err);
    process.exitCode = 1;
  });
}
