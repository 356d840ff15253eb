// Owns the message's line endings as the program sees them: CRLF (the wire form) or LF.
// Pure: no I/O, no timers, and no second message-sized allocation: it rewrites the bytes
// of the transferred buffer in place and returns a shorter view of them.

import type { LineEnding } from '../src/config/types.js';

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * Turns every CRLF into LF inside `bytes` and returns the (possibly shorter) view of the
 * same memory. Bare CR and bare LF stay as they are: RFC 5321 section 2.3.8 makes them
 * illegal on the wire, but smtp-server passes them through and the program should see
 * what the client sent. One native indexOf + copyWithin per line; no per-byte JS loop.
 */
export function crlfToLfInPlace(bytes: Uint8Array): Uint8Array {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = buf.indexOf(CRLF);
  if (first === -1) return bytes;
  // Everything before the first CR is already in place. From there on, `read` is the next
  // byte to keep (the LF of the CRLF just dropped) and `write` is where it goes.
  let write = first;
  let read = first + 1;
  for (let next = buf.indexOf(CRLF, read); next !== -1; next = buf.indexOf(CRLF, read)) {
    buf.copyWithin(write, read, next);
    write += next - read;
    read = next + 1;
  }
  buf.copyWithin(write, read);
  write += buf.length - read;
  return bytes.subarray(0, write);
}

/** The message bytes for a program that wants `eol`; may reuse (and rewrite) `wire`. */
export function toLineEnding(wire: Uint8Array, eol: LineEnding): Uint8Array {
  return eol === 'lf' ? crlfToLfInPlace(wire) : wire;
}
