// SMTP reply framing over Buffers (RFC 5321 4.2): "ddd-text" continues a reply, "ddd text"
// (or a bare "ddd") ends it. Calls onReply(code) once per complete reply, reading the
// code from bytes; keeps text (latin1 strings) only while captureText is on (for EHLO).

/** onReply gets 0 for a line that is not a reply line (a protocol error). */
export type ReplyHandler = (code: number) => void;

/** RFC 5321 4.5.3.1.5 caps a reply line at 512 octets; longer ones are cut, not refused. */
const CARRY_BYTES = 1024;

export class ReplyParser {
  /** While true, the text of each line (after "ddd-" / "ddd ") is kept in `lines`. */
  captureText = false;
  /** Text lines of the reply being read, and of the last complete one until the next starts. */
  readonly lines: string[] = [];

  private readonly onReply: ReplyHandler;
  private readonly carry = Buffer.allocUnsafe(CARRY_BYTES);
  private carryBytes = 0;
  /** Bumped by reset(): push() stops handing out replies of a chunk read before it. */
  private generation = 0;
  private replyDone = true;

  constructor(onReply: ReplyHandler) {
    this.onReply = onReply;
  }

  /** Forgets any partial line and stops a push() in progress (the connection was replaced). */
  reset(): void {
    this.generation += 1;
    this.carryBytes = 0;
    this.replyDone = true;
    this.lines.length = 0;
    this.captureText = false;
  }

  push(chunk: Buffer): void {
    const generation = this.generation;
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(0x0a, start);
      if (lf === -1) {
        this.keep(chunk, start, chunk.length);
        return;
      }
      if (this.carryBytes > 0) {
        this.keep(chunk, start, lf + 1);
        const bytes = this.carryBytes;
        this.carryBytes = 0;
        this.line(this.carry, 0, bytes);
      } else {
        this.line(chunk, start, lf + 1);
      }
      if (generation !== this.generation) return;
      start = lf + 1;
    }
  }

  private keep(chunk: Buffer, start: number, end: number): void {
    const room = CARRY_BYTES - this.carryBytes;
    const bytes = Math.min(room, end - start);
    if (bytes > 0) this.carryBytes += chunk.copy(this.carry, this.carryBytes, start, start + bytes);
  }

  /** One line [start, end) including its LF. */
  private line(buf: Buffer, start: number, end: number): void {
    if (this.replyDone) {
      this.replyDone = false;
      if (this.lines.length > 0) this.lines.length = 0;
    }
    const d0 = (buf[start] ?? 0) - 0x30;
    const d1 = (buf[start + 1] ?? 0) - 0x30;
    const d2 = (buf[start + 2] ?? 0) - 0x30;
    const sep = end - start > 3 ? buf[start + 3] : 0x0a;
    if (d0 < 2 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || (sep !== 0x2d && sep !== 0x20 && sep !== 0x0d && sep !== 0x0a)) {
      this.replyDone = true;
      this.onReply(0);
      return;
    }
    if (this.captureText) {
      let textEnd = end - 1;
      if (textEnd > start && buf[textEnd - 1] === 0x0d) textEnd -= 1;
      this.lines.push(textEnd > start + 4 ? buf.toString('latin1', start + 4, textEnd) : '');
    }
    if (sep === 0x2d) return;
    this.replyDone = true;
    this.onReply(d0 * 100 + d1 * 10 + d2);
  }
}
