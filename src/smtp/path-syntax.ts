// Finds an RFC 5321 4.1.2 Quoted-string local part in a MAIL FROM / RCPT TO command line
// (with RFC 6531 3.3's UTF8-non-ascii in qtextSMTP: src/delivery/address.ts decides
// whether this transaction may have it, and which characters are unsafe).
// Pure. smtp-server's parser splits the line on whitespace, wants exactly one "@" and no
// ".." nor "<>": all legal inside quotes. This module lets it parse the rest unchanged.

/** A command line whose quoted local part was masked, and that local part as sent. */
export interface MaskedPath {
  /** The line with the local part replaced by as many `q` (a plain Dot-string atom). */
  readonly command: string;
  /** `"..."`, exactly as the client sent it (quotes and quoted pairs kept). */
  readonly localPart: string;
}

const SPACE = /[ \t]/;

/**
 * Returns the command with its quoted local part masked, or null when the path has no
 * quoted local part or is not well-formed (smtp-server then judges the line as sent).
 * Grammar: `":" [SP] "<" [A-d-l ":"] Quoted-string "@" domain ">" [SP params]`, where
 * Quoted-string = DQUOTE *(qtextSMTP / quoted-pairSMTP) DQUOTE, qtextSMTP = %d32-33 /
 * %d35-91 / %d93-126 / UTF8-non-ascii and quoted-pairSMTP = "\" %d32-126. The masked part keeps its
 * length, so smtp-server's path length check (RFC 5321 4.5.3.1.3) still counts it.
 */
export function maskQuotedLocalPart(command: string): MaskedPath | null {
  let i = command.indexOf(':');
  if (i === -1) return null;
  i += 1;
  while (i < command.length && SPACE.test(command[i] as string)) i += 1;
  if (command[i] !== '<') return null;
  i += 1;
  // A source route (A-d-l) ends at the first ":"; RFC 5321 C says to ignore it.
  if (command[i] === '@') {
    const colon = command.indexOf(':', i);
    if (colon === -1) return null;
    i = colon + 1;
  }
  if (command[i] !== '"') return null;
  const start = i;
  i += 1;
  for (;;) {
    const code = command.charCodeAt(i);
    if (Number.isNaN(code)) return null; // unterminated
    if (code === 0x22) break;
    if (code === 0x5c) {
      const next = command.charCodeAt(i + 1);
      if (!(next >= 0x20 && next <= 0x7e)) return null;
      i += 2;
    } else if ((code >= 0x20 && code <= 0x7e) || code >= 0x80) i += 1;
    else return null;
  }
  const end = i + 1;
  if (command[end] !== '@') return null;
  // The domain runs to ">" without spaces; anything after the path is a parameter list.
  const close = command.indexOf('>', end);
  if (close === -1 || /[\s<"]/.test(command.slice(end, close))) return null;
  const after = command[close + 1];
  if (after !== undefined && !SPACE.test(after)) return null;
  const localPart = command.slice(start, end);
  return { command: command.slice(0, start) + 'q'.repeat(localPart.length) + command.slice(end), localPart };
}

