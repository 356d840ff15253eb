// The held-large group's messages and their check: one large common part plus a short
// unique last line per message, in the form the program must receive (LF) and on the wire
// (CRLF, dot-stuffed, RFC 5321 4.5.2), with the SHA-256 each program should report. Pure:
// the random filler comes from the caller; hashing is computation, not I/O.

import { createHash } from 'node:crypto';

/** Filler lines are this long (as smtp-load's), so CRLF adds one byte per 77. */
const LINE_CHARS = 76;
/** Every 16th line starts with "." so the daemon's transparency code runs (RFC 5321 4.5.2). */
const DOT_EVERY = 16;

export interface HeldMessages {
  readonly count: number;
  /** Each message as the program receives it with `eol = "lf"` and no trace header, bytes. */
  readonly sizeBytes: number;
  /** Each message on the wire, without the final ".\r\n", bytes. */
  readonly wireBytes: number;
  /** The common wire part: headers and filler, CRLF, dot-stuffed; shared by every message. */
  readonly commonWire: Buffer;
  /** Message i's last line on the wire (CRLF-terminated), i in [0, count). */
  uniqueWire(i: number): Buffer;
  /** SHA-256 (hex) of message i as the program should receive it. */
  expectedDigest(i: number): string;
}

/** LF text -> wire form: CRLF line endings, and a "." doubled at the start of each line. */
export function toWire(lfText: string): Buffer {
  return Buffer.from(lfText.replace(/^\./gm, '..').replace(/\n/g, '\r\n'), 'latin1');
}

function uniqueLine(i: number, count: number): string {
  return `bench message ${String(i + 1).padStart(String(count).length, '0')} of ${count}\n`;
}

/**
 * `count` messages of about `sizeBytes` each (LF form, unique line included). `filler` is
 * any bytes (random, from the caller); its base64 text is cycled into the filler lines.
 */
export function buildHeldMessages(count: number, sizeBytes: number, filler: Buffer): HeldMessages {
  if (filler.length === 0) throw new Error('bug: empty filler');
  const headers = [
    'From: bench@localhost',
    'To: undisclosed-recipients:;',
    'Subject: smtpipe bench, byte-exact delivery',
    'Message-ID: <held-large@bench.test>',
    '',
    '',
  ].join('\n');
  const text = filler.toString('base64');
  const lastLength = uniqueLine(count - 1, count).length;
  const lines: string[] = [headers];
  let bytes = headers.length + lastLength;
  for (let n = 0, at = 0; bytes + LINE_CHARS + 1 <= sizeBytes; n++) {
    let line = '';
    while (line.length < LINE_CHARS) {
      const take = Math.min(LINE_CHARS - line.length, text.length - at);
      line += text.slice(at, at + take);
      at = (at + take) % text.length;
    }
    if (n % DOT_EVERY === 0) line = `.${line.slice(1)}`;
    lines.push(`${line}\n`);
    bytes += LINE_CHARS + 1;
  }
  const commonLf = lines.join('');
  const commonWire = toWire(commonLf);
  const commonHash = createHash('sha256').update(commonLf, 'latin1');
  return {
    count,
    sizeBytes: commonLf.length + lastLength,
    wireBytes: commonWire.length + lastLength + 1,
    commonWire,
    uniqueWire: (i) => toWire(uniqueLine(i, count)),
    expectedDigest: (i) => commonHash.copy().update(uniqueLine(i, count), 'latin1').digest('hex'),
  };
}

/** The SHA-256 hex digests in the programs' output lines (`sha256sum` prints "<hex>  -"). */
export function parseDigests(output: string): string[] {
  return output
    .split('\n')
    .map((line) => /^([0-9a-f]{64})\b/.exec(line.trim())?.[1])
    .filter((d): d is string => d !== undefined);
}

export interface DigestCheck {
  /** Received digests that match a sent message not matched before. */
  readonly byteExact: number;
  /** Sent messages with no matching digest. */
  readonly missing: number;
  /** Received digests matching no sent message, or a message already matched. */
  readonly corrupted: number;
}

/** Matches what the programs reported against what was sent, as multisets. */
export function checkDigests(expected: readonly string[], received: readonly string[]): DigestCheck {
  const want = new Map<string, number>();
  for (const d of expected) want.set(d, (want.get(d) ?? 0) + 1);
  let byteExact = 0;
  let corrupted = 0;
  for (const d of received) {
    const left = want.get(d) ?? 0;
    if (left > 0) {
      want.set(d, left - 1);
      byteExact += 1;
    } else {
      corrupted += 1;
    }
  }
  return { byteExact, missing: expected.length - byteExact, corrupted };
}
