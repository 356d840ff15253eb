// Reads the PROXY header (proxy-header.ts) off a freshly accepted socket before
// smtp-server sees a byte: exactly the header is consumed, whatever followed it is pushed
// back for the SMTP parser. Owns the wait's deadline. Never writes to the socket and never
// closes it: what a failure does is the caller's decision.

import type net from 'node:net';
import { parseProxyHeader, type ProxiedClient } from './proxy-header.js';

export type ProxyRead =
  | { readonly ok: true; readonly version: 1 | 2; readonly client: ProxiedClient | null }
  | {
      readonly ok: false;
      readonly reason: string;
      /** Up to 32 of the bytes received, latin1, for the log line. */
      readonly head: string;
    };

const HEAD_BYTES = 32;

/** Calls `done` once: with the header, or with why there is none. */
export function readProxyHeader(socket: net.Socket, timeoutMs: number, done: (result: ProxyRead) => void): void {
  let received: Buffer = Buffer.alloc(0);
  let finished = false;
  const finish = (result: ProxyRead) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.removeListener('readable', onReadable);
    socket.removeListener('end', onEnd);
    socket.removeListener('close', onClose);
    socket.removeListener('error', onError);
    done(result);
  };
  const fail = (reason: string) => finish({ ok: false, reason, head: received.subarray(0, HEAD_BYTES).toString('latin1') });
  const onReadable = () => {
    let chunk: Buffer | null;
    while (!finished && (chunk = socket.read() as Buffer | null) !== null) {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const parsed = parseProxyHeader(received);
      if (parsed.kind === 'incomplete') continue;
      if (parsed.kind === 'invalid') return fail(parsed.reason);
      const rest = received.subarray(parsed.bytes);
      received = received.subarray(0, parsed.bytes);
      if (rest.length > 0) socket.unshift(rest);
      return finish({ ok: true, version: parsed.version, client: parsed.client });
    }
  };
  const onEnd = () => fail(received.length === 0 ? 'closed by the peer before any byte' : 'closed by the peer inside the PROXY header');
  const onClose = () => fail('connection closed before the PROXY header');
  const onError = (error: NodeJS.ErrnoException) => fail(`socket error before the PROXY header: ${error.code ?? error.message}`);
  // A trusted proxy writes its header at once (HAProxy: with the connect); a peer that
  // does not within the deadline is not one.
  const timer = setTimeout(() => fail(`no PROXY header within ${timeoutMs / 1000} s`), timeoutMs);
  timer.unref();
  socket.on('readable', onReadable);
  socket.on('end', onEnd);
  socket.on('close', onClose);
  socket.on('error', onError);
}
