// Owns the message's line endings as the program sees them: CRLF (the wire form) or LF,
// and the Bare_Newlines policy for a CR or LF that is not part of a CRLF. Pure: no I/O, no
// timers; the common path rewrites the received chunk in place (no second copy). The
// two scans it is built from come in JavaScript (here) and in C (native/line-endings.c,
// loaded by native/addons.ts), with the same results byte for byte. line-ending-stream.ts
// applies them chunk by chunk as the message arrives.

import type { BareNewlinePolicy, LineEnding } from '../config/types.js';

const CR = 0x0d;
const LF = 0x0a;

/** True when a CR or an LF stands outside a CRLF pair. One native indexOf per line. */
export function hasBareNewline(bytes: Uint8Array): boolean {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let lf = buf.indexOf(LF); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    if (lf === 0 || buf[lf - 1] !== CR) return true;
  }
  for (let cr = buf.indexOf(CR); cr !== -1; cr = buf.indexOf(CR, cr + 1)) {
    if (buf[cr + 1] !== LF) return true;
  }
  return false;
}

/** Every bare CR and bare LF becomes CRLF. A new buffer: the rare path, only after hasBareNewline. */
export function bareNewlinesToCrlf(bytes: Uint8Array): Uint8Array {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** The scans toLineEnding() is built from. */
export interface LineEndingScans {
  /**
   * CRLF -> LF in place; the new length. -1 when a CR or LF outside a CRLF pair remains
   * and `normalize` is false; under `normalize` each such CR becomes an LF.
   */
  toLf(bytes: Uint8Array, normalize: boolean): number;
  hasBareNewline(bytes: Uint8Array): boolean;
}

export const javascriptScans: LineEndingScans = {
  toLf(bytes, normalize) {
    const out = toLfInPlace(bytes, normalize ? 'normalize' : 'reject');
    return out === null ? -1 : out.length;
  },
  hasBareNewline,
};

/**
 * The LF form of a wire message in one pass over its LFs, in place: CRLF -> LF, and
 * whether any LF was bare. A CR left afterwards is a bare CR (one native indexOf).
 * null under 'reject' when a bare CR or LF was found; under 'normalize' each bare CR
 * becomes an LF (a bare LF already is one).
 */
function toLfInPlace(bytes: Uint8Array, bareNewlines: BareNewlinePolicy): Uint8Array | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let write = 0;
  let read = 0;
  let bareLf = false;
  for (let lf = buf.indexOf(LF); lf !== -1; lf = buf.indexOf(LF, lf + 1)) {
    if (lf === 0 || buf[lf - 1] !== CR) {
      bareLf = true;
      continue;
    }
    // Drop the CR at lf - 1: keep [read, lf - 1), then resume at the LF.
    if (write !== read) buf.copyWithin(write, read, lf - 1);
    write += lf - 1 - read;
    read = lf;
  }
  if (write !== read) buf.copyWithin(write, read);
  const out = bytes.subarray(0, write + buf.length - read);
  const outBuf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let cr = outBuf.indexOf(CR);
  if (!bareLf && cr === -1) return out;
  if (bareNewlines === 'reject') return null;
  for (; cr !== -1; cr = outBuf.indexOf(CR, cr + 1)) outBuf[cr] = LF;
  return out;
}

/**
 * The message bytes for a program that wants `eol`; may reuse (and rewrite) `wire`.
 * null when the message holds a bare CR or LF and the policy is 'reject': smtp-server ends
 * DATA only on CRLF.CRLF, so a "\n.\r\n" smuggled in stays content, and the program must
 * never get a line ending it did not ask for.
 */
export function toLineEnding(
  wire: Uint8Array,
  eol: LineEnding,
  bareNewlines: BareNewlinePolicy,
  scans: LineEndingScans = javascriptScans,
): Uint8Array | null {
  if (eol === 'lf') {
    const length = scans.toLf(wire, bareNewlines === 'normalize');
    return length === -1 ? null : wire.subarray(0, length);
  }
  if (!scans.hasBareNewline(wire)) return wire;
  return bareNewlines === 'reject' ? null : bareNewlinesToCrlf(wire);
}
