// The one message a run sends, built once per size: exact byte size as the server
// stores it, CRLF lines, and its wire form with RFC 5321 4.5.2 dot-stuffing and the
// final "." already applied, so the hot path writes one shared Buffer. Pure.

export interface BenchMessage {
  /** The message as the server receives it after undoing transparency: headers, blank line, body. */
  readonly message: Buffer;
  /** `message` dot-stuffed and followed by ".\r\n": what goes on the wire after 354. */
  readonly wire: Buffer;
}

export interface MessageFields {
  /** Goes into From:; '' (null sender) becomes MAILER-DAEMON@localhost. */
  readonly from: string;
  readonly date: Date;
}

/** Body line length without CRLF; RFC 5322 2.1.1 recommends at most 78. */
const LINE_CHARS = 76;
const FILLER = 'smtp-load filler: the quick brown fox jumps over the lazy dog 0123456789 ';
/** Every 16th body line starts with "." so the server's transparency code runs too. */
const DOT_LINE_EVERY = 16;

/** The header block (ending in the blank line) for a message of `sizeBytes`. */
export function buildHeaders(sizeBytes: number, fields: MessageFields): string {
  const from = fields.from === '' ? 'MAILER-DAEMON@localhost' : fields.from;
  // RFC 5322 3.3 date; toUTCString's "GMT" is the obsolete zone form, so spell +0000.
  const date = fields.date.toUTCString().replace(/GMT$/, '+0000');
  return (
    `From: <${from}>\r\n` +
    'To: undisclosed-recipients:;\r\n' +
    `Subject: smtp-load ${sizeBytes}-byte message\r\n` +
    `Date: ${date}\r\n` +
    `Message-ID: <smtp-load.${sizeBytes}.${fields.date.getTime()}@localhost>\r\n` +
    '\r\n'
  );
}

/** Builds the message of exactly `sizeBytes`; throws a RangeError when the headers alone do not fit. */
export function buildMessage(sizeBytes: number, fields: MessageFields): BenchMessage {
  const headers = buildHeaders(sizeBytes, fields);
  const message = Buffer.alloc(sizeBytes);
  const headerBytes = message.write(headers, 0, 'latin1');
  const bodyBytes = sizeBytes - headerBytes;
  if (headerBytes !== headers.length || bodyBytes < 2) {
    throw new RangeError(`message size ${sizeBytes} is too small for its ${headers.length} header bytes`);
  }
  // Full lines of LINE_CHARS + CRLF, then a shorter last line. A remainder of one byte
  // cannot be a line (CRLF alone is two), so the first line takes it (79 bytes, < 998).
  const full = LINE_CHARS + 2;
  const fullLines = Math.floor(bodyBytes / full);
  const rest = bodyBytes % full;
  const lineCount = fullLines + (rest >= 2 ? 1 : 0);
  let at = headerBytes;
  for (let i = 0; i < lineCount; i += 1) {
    const chars = i < fullLines ? LINE_CHARS + (i === 0 && rest === 1 ? 1 : 0) : rest - 2;
    for (let c = 0; c < chars; c += 1) message[at + c] = FILLER.charCodeAt((i + c) % FILLER.length);
    if (chars > 0 && i % DOT_LINE_EVERY === DOT_LINE_EVERY - 1) message[at] = 0x2e;
    at += chars;
    message[at] = 0x0d;
    message[at + 1] = 0x0a;
    at += 2;
  }
  if (at !== sizeBytes) throw new Error(`bug: built ${at} bytes, wanted ${sizeBytes}`);
  return { message, wire: toWire(message) };
}

/**
 * RFC 5321 4.5.2: a line starting with "." gets one more; then the terminating
 * ".\r\n". `message` must end with CRLF (a message that does not gets one added).
 */
export function toWire(message: Buffer): Buffer {
  let dots = message.length > 0 && message[0] === 0x2e ? 1 : 0;
  for (let i = message.indexOf(0x0a); i !== -1 && i + 1 < message.length; i = message.indexOf(0x0a, i + 1)) {
    if (message[i + 1] === 0x2e) dots += 1;
  }
  const endsWithCrlf = message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === 0x0a;
  const tail = endsWithCrlf || message.length === 0 ? '.\r\n' : '\r\n.\r\n';
  const wire = Buffer.allocUnsafe(message.length + dots + tail.length);
  let out = 0;
  let lineStart = 0;
  while (lineStart < message.length) {
    const lf = message.indexOf(0x0a, lineStart);
    const lineEnd = lf === -1 ? message.length : lf + 1;
    if (message[lineStart] === 0x2e) wire[out++] = 0x2e;
    out += message.copy(wire, out, lineStart, lineEnd);
    lineStart = lineEnd;
  }
  out += wire.write(tail, out, 'latin1');
  if (out !== wire.length) throw new Error(`bug: wire form ${out} bytes, allocated ${wire.length}`);
  return wire;
}
