// The header lines smtpipe prepends to a message: Return-Path, Delivered-To and
// Received (RFC 5321 4.4). Pure. Client-supplied text is escaped so that it can
// never split a header line or open a new one.

import type { LineEnding, TransportConfig } from '../config/types.js';
import type { Envelope } from './envelope.js';
import type { ClientCertificate } from '../smtp/policy.js';

export interface TraceContext {
  readonly envelope: Envelope;
  /** Banner_Hostname of the listener that received the message. */
  readonly receivedBy: string;
  /** 'ESMTP' after EHLO, 'SMTP' after HELO, 'ESMTPS' with TLS (RFC 3848 protocol names). */
  readonly protocol: string;
  /** TLS protocol and cipher, named in a comment as Postfix does; null in clear. */
  readonly tls: string | null;
  /** The client certificate of the session; named only when verified (TLS_Verify_Mode). */
  readonly clientCertificate?: ClientCertificate | null;
  readonly date: Date;
}

/** Anything but printable ASCII, and the characters that would end a comment or an address. */
const UNSAFE = /[^\x21-\x7e]|[()<>\\]/g;

function escapeClientText(text: string, maxLength = 255): string {
  const clipped = text.length > maxLength ? text.slice(0, maxLength) : text;
  return clipped.replace(UNSAFE, '?');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => (n < 10 ? `0${n}` : String(n));

/** RFC 5322 3.3 date-time, in UTC. */
export function formatRfc5322Date(date: Date): string {
  return (
    `${DAYS[date.getUTCDay()]}, ${date.getUTCDate()} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}

export function buildTraceHeaders(transport: TransportConfig, context: TraceContext): string {
  const eol = lineEnding(transport.eol);
  const { envelope } = context;
  let header = '';
  if (transport.returnPathHeader) header += `Return-Path: <${escapeClientText(envelope.sender, 998)}>${eol}`;
  if (transport.deliveredToHeader) {
    for (const recipient of envelope.recipients) header += `Delivered-To: ${escapeClientText(recipient, 998)}${eol}`;
  }
  if (transport.receivedHeader) {
    const helo = escapeClientText(envelope.clientHelo) || 'unknown';
    const address = escapeClientText(envelope.clientAddress, 64);
    const literal = address.includes(':') ? `IPv6:${address}` : address;
    const date = formatRfc5322Date(context.date);
    // "for" names a single recipient only: listing several would disclose Bcc's.
    const tail =
      envelope.recipients.length === 1
        ? `${eol}\tfor <${escapeClientText(envelope.recipients[0] as string, 998)}>; ${date}`
        : `; ${date}`;
    const [version, cipher] = (context.tls ?? '').split(' ').map((part) => escapeClientText(part, 64));
    const using = context.tls === null ? '' : `\t(using ${version} with cipher ${cipher})${eol}`;
    const client = verifiedClient(context.clientCertificate ?? null);
    const certified = client === null ? '' : `\t(${client})${eol}`;
    // Postfix's smtpd_sasl_authenticated_header: the user of a successful AUTH (RFC 4954).
    const user = envelope.authUser ? `\t(Authenticated sender: ${escapeClientText(envelope.authUser)})${eol}` : '';
    header +=
      `Received: from ${helo} ([${literal}])${eol}${using}${certified}${user}` +
      `\tby ${context.receivedBy} (smtpipe) with ${context.protocol} id ${envelope.queueId}${tail}${eol}`;
  }
  return header;
}

/**
 * Postfix's comment for a trusted client certificate: `Client CN "x", Issuer "y" (verified
 * OK)`. An unverified one is not named here: its names are whatever the client wrote, and a
 * program reading this header must be able to trust what it says (the log line has both).
 */
function verifiedClient(certificate: ClientCertificate | null): string | null {
  if (!certificate?.verified) return null;
  // Spaces stay (names have them); a quote would end the name early, so it goes the way of
  // control characters, 8-bit text and what would end the comment.
  const quoted = (text: string) => `"${text.slice(0, 128).replace(/[^\x20-\x7e]|[()<>\\"]/g, '?')}"`;
  const subject = certificate.commonName === null ? quoted(certificate.subject) : `CN ${quoted(certificate.commonName)}`;
  const issuer = certificate.issuerCommonName === null ? quoted(certificate.issuer) : quoted(certificate.issuerCommonName);
  return `Client ${subject}, Issuer ${issuer} (verified OK)`;
}

export function lineEnding(eol: LineEnding): string {
  return eol === 'crlf' ? '\r\n' : '\n';
}
