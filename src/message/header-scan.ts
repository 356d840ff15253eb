// Reads the header section of a message as it streams in, for the loop checks of
// src/delivery/loop-check.ts: counts Received: fields and reports the Delivered-To: values
// the caller asks about. Decides nothing. Bounded: one line prefix, a few values; the body
// is never looked at (push() returns at once after the header section).

/** What the header section held, as far as the loop checks need it. */
export interface HeaderFacts {
  /** Received: fields (a folded field counts once). */
  readonly receivedHeaders: number;
  /** Delivered-To: values (unfolded, trimmed) that the watch accepted, distinct, at most MAX_WATCHED. */
  readonly deliveredTo: readonly string[];
}

/** Says which Delivered-To: values matter (the policy's own comparison); unset: none do. */
export type DeliveredToWatch = (value: string) => boolean;

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HT = 0x09;
const COLON = 0x3a;
/**
 * The prefix of each line kept. RFC 5322 2.1.1 caps a line at 998 characters; an address
 * is at most 256 octets (RFC 5321 4.5.3.1.3): a longer Delivered-To: names no recipient.
 */
const MAX_KEPT = 1024;
/** Distinct matching values kept: each names a recipient, the first one already decides. */
const MAX_WATCHED = 16;

const RECEIVED = Buffer.from('received', 'latin1');
const DELIVERED_TO = Buffer.from('delivered-to', 'latin1');

/** line[0, end) is `name` (lower case ASCII) in any case; no string is made per line. */
function nameIs(line: Buffer, end: number, name: Buffer): boolean {
  if (end !== name.length) return false;
  for (let i = 0; i < end; i += 1) {
    const c = line[i] as number;
    const n = name[i] as number;
    // Folds A-Z only: `| 0x20` would also make a CR (0x0d) a "-" (0x2d).
    if (c !== n && !(c >= 0x41 && c <= 0x5a && (c | 0x20) === n)) return false;
  }
  return true;
}

export class HeaderScan {
  readonly #watch: DeliveredToWatch | undefined;
  readonly #line = Buffer.allocUnsafe(MAX_KEPT);
  #lineBytes = 0;
  #lineCut = false;
  #done = false;
  #received = 0;
  /** The Delivered-To: field being read (folded lines are appended), null when none is. */
  #value: string | null = null;
  readonly #matched = new Set<string>();

  constructor(watch?: DeliveredToWatch) {
    this.#watch = watch;
  }

  /** A chunk of the message as received (dot-unstuffed); read, never kept or changed. */
  push(chunk: Buffer): void {
    let at = 0;
    while (!this.#done && at < chunk.length) {
      const lf = chunk.indexOf(LF, at);
      const end = lf === -1 ? chunk.length : lf;
      this.#keep(chunk, at, end);
      if (lf === -1) return;
      this.#endLine();
      at = lf + 1;
    }
  }

  /** The facts once every byte is in (a header section without a body ends here). */
  finish(): HeaderFacts {
    if (!this.#done && this.#lineBytes > 0) this.#endLine();
    this.#closeField();
    this.#done = true;
    return { receivedHeaders: this.#received, deliveredTo: [...this.#matched] };
  }

  #keep(chunk: Buffer, from: number, to: number): void {
    const room = MAX_KEPT - this.#lineBytes;
    if (to - from > room) this.#lineCut = true;
    const take = Math.min(room, to - from);
    if (take > 0) chunk.copy(this.#line, this.#lineBytes, from, from + take);
    this.#lineBytes += take;
  }

  #endLine(): void {
    let length = this.#lineBytes;
    // CRLF, or a bare LF under Bare_Newlines = normalize: either ends the line.
    if (!this.#lineCut && length > 0 && this.#line[length - 1] === CR) length -= 1;
    const line = this.#line.subarray(0, length);
    const cut = this.#lineCut;
    this.#lineBytes = 0;
    this.#lineCut = false;
    if (length === 0 && !cut) {
      // RFC 5322 2.1: the empty line ends the header section.
      this.#closeField();
      this.#done = true;
      return;
    }
    const first = line[0];
    if (first === SP || first === HT) {
      // RFC 5322 2.2.3: a folded line continues the field above it.
      if (this.#value === null) return;
      const unfolded = cut ? null : this.#value + line.toString('utf8');
      this.#value = unfolded !== null && unfolded.length <= MAX_KEPT ? unfolded : null;
      return;
    }
    this.#closeField();
    const colon = line.indexOf(COLON);
    if (colon <= 0) {
      // Neither a field nor a continuation: the body has begun without its empty line
      // (Postfix's cleanup reads it so too).
      this.#done = true;
      return;
    }
    let nameEnd = colon;
    while (nameEnd > 0 && (line[nameEnd - 1] === SP || line[nameEnd - 1] === HT)) nameEnd -= 1;
    if (nameIs(line, nameEnd, RECEIVED)) this.#received += 1;
    else if (this.#watch !== undefined && !cut && nameIs(line, nameEnd, DELIVERED_TO)) this.#value = line.toString('utf8', colon + 1);
  }

  #closeField(): void {
    const value = this.#value?.trim();
    this.#value = null;
    if (value === undefined || value === '' || this.#matched.size >= MAX_WATCHED) return;
    if (this.#watch?.(value)) this.#matched.add(value);
  }
}
