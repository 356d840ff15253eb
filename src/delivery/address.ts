// Envelope address checks (RFC 5321 4.1.2, 4.5.3.1; RFC 6531 3.3 in SMTPUTF8
// transactions) and the canonical form programs get. Pure. smtp-server's own parser is
// lenient (it accepts `$(id)@x`, `a;b@x`, 65-octet local parts) and turns punycode domains
// into Unicode; this module is the strict gate. Quoted local parts (`"foo bar"@x`,
// `"x@y"@z`) pass in their quoted form.

import { domainToASCII, domainToUnicode } from 'node:url';
import type { SmtpReply } from '../smtp/reply.js';

export type AddressRole = 'sender' | 'recipient';

export type AddressCheck = { readonly ok: true; readonly address: string } | { readonly ok: false; readonly reply: SmtpReply };

/** RFC 5322 atext: what a Dot-string may hold. `$` and backquote are legal, `(`, `;` are not. */
const DOT_STRING = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
/** RFC 5321 Quoted-string: printable ASCII and space; `"` and `\` only as a quoted pair. */
const QUOTED_STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NON_ASCII = /[\u0080-\u{10ffff}]/u;
/** RFC 6531 3.3: atext and qtextSMTP also take UTF8-non-ascii (in SMTPUTF8 transactions). */
const UTF8_DOT_STRING = /^(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[\u0080-\u{10ffff}])+(?:\.(?:[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]|[\u0080-\u{10ffff}])+)*$/u;
const UTF8_QUOTED_STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|[\u0080-\u{10ffff}]|\\[\x20-\x7e])*"$/u;
/**
 * Non-ASCII characters no mailbox needs and that would reach argv, env and logs: C0/C1
 * controls, format characters (bidi overrides that reorder what an operator reads, zero
 * width spaces; ZWNJ and ZWJ stay, some scripts need them), surrogates, private use,
 * unassigned code points, separators other than the ASCII space, and U+FFFD (what a
 * decoder leaves of invalid UTF-8).
 */
const UNSAFE_UNICODE = /[\p{Cc}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\u{FFFD}]|(?![\u200c\u200d])\p{Cf}|(?! )\p{Zs}/u;

/** RFC 5321 4.5.3.1.1, for recipients only (see checkAddress). */
const MAX_LOCAL_PART = 64;
const MAX_DOMAIN = 255;
/** RFC 5321 4.5.3.1.3: a path is at most 256 octets, "<" and ">" included. */
const MAX_ADDRESS = 254;

function refuse(role: AddressRole, text: string): AddressCheck {
  // 5.1.7 bad sender's mailbox syntax, 5.1.3 bad destination mailbox syntax (RFC 3463).
  const detail = role === 'sender' ? '5.1.7' : '5.1.3';
  return { ok: false, reply: { code: 553, text: `${detail} ${role} address rejected: ${text}`, reason: 'bad-address' } };
}

/**
 * Checks an address as smtp-server parsed it (source route already dropped) and returns
 * the form used from here on: the domain in ASCII (A-labels), the local part unchanged.
 * The null sender '' passes for the sender only.
 *
 * The 64-octet local part limit (RFC 5321 4.5.3.1.1) applies to recipients, which name
 * mailboxes here. A sender's local part may be longer, up to the path limit: return paths
 * rewritten by SRS, VERP and BATV often are, Postfix relays them, and RFC 5321 4.5.3.1
 * asks for no limits "to the maximum extent possible" (peer-interop G3).
 */
export function checkAddress(address: string, role: AddressRole, smtputf8 = false): AddressCheck {
  if (address === '') return role === 'sender' ? { ok: true, address } : refuse(role, 'empty address');
  // A leading "-" would read as an option to many programs (argument injection).
  if (address.startsWith('-')) return refuse(role, 'must not begin with "-"');
  const at = localPartEnd(address);
  if (at <= 0) return refuse(role, at === 0 || !address.includes('@') ? 'no domain' : 'bad local part syntax');
  const { local, domain } = splitAt(address, at);
  if (NON_ASCII.test(local)) {
    // Outside a MAIL FROM ... SMTPUTF8 transaction (RFC 6531 3.4), or SMTPUTF8 not offered.
    if (!smtputf8) return { ok: false, reply: { code: 553, text: '5.6.7 non-ASCII address without SMTPUTF8', reason: 'bad-address' } };
    if (UNSAFE_UNICODE.test(local)) return refuse(role, 'control or format character in local part');
  }
  if (role === 'recipient' && Buffer.byteLength(local) > MAX_LOCAL_PART) return refuse(role, `local part longer than ${MAX_LOCAL_PART} octets`);
  const [dotString, quotedString] = smtputf8 ? [UTF8_DOT_STRING, UTF8_QUOTED_STRING] : [DOT_STRING, QUOTED_STRING];
  if (!dotString.test(local) && !quotedString.test(local)) return refuse(role, 'bad local part syntax');
  const asciiDomain = checkDomain(domain);
  if (asciiDomain === null) return refuse(role, 'bad domain syntax');
  // SMTPUTF8: the domain in U-labels, as a UTF-8 mailbox reads (the router maps it back
  // to A-labels). Else A-labels, as before SMTPUTF8. Either way one form per domain, not
  // the form the client chose: smtp-server has already turned A-labels into Unicode.
  const shownDomain = smtputf8 && asciiDomain.includes('xn--') ? domainToUnicode(asciiDomain) : asciiDomain;
  const checked = `${local}@${shownDomain}`;
  // RFC 5321 4.5.3.1.3 counts octets: UTF-8 bytes, not UTF-16 units.
  if (Buffer.byteLength(checked) > MAX_ADDRESS) return refuse(role, `longer than ${MAX_ADDRESS} octets`);
  return { ok: true, address: checked };
}

/**
 * Where the local part ends: at the "@" after a quoted string's closing quote (a quoted
 * local part may hold "@", `"x@y"@z`), else at the first "@" (atext has none; a domain
 * literal may). -1 when there is no such "@".
 */
function localPartEnd(address: string): number {
  if (!address.startsWith('"')) return address.indexOf('@');
  for (let i = 1; i < address.length; i++) {
    const c = address[i];
    if (c === '\\') i += 1;
    else if (c === '"') return address[i + 1] === '@' ? i + 1 : -1;
  }
  return -1;
}

/**
 * `local@domain` split where the local part ends (localPartEnd): the one split of an
 * address, for MAIL/RCPT checks, routing and the ${local}/${domain} macros. An address
 * without such an "@" (the null sender '') is all local part, with no domain.
 */
export function splitAddress(address: string): { local: string; domain: string } {
  return splitAt(address, localPartEnd(address));
}

function splitAt(address: string, at: number): { local: string; domain: string } {
  if (at === -1) return { local: address, domain: '' };
  return { local: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * The key under which two addresses name the same recipient, compared case-insensitively
 * as smtp-server keys its envelope. The address itself keeps its case (RFC 5321 2.4 says
 * to preserve it); only repeats are found this way, and RFC 5321 2.4 discourages mailboxes
 * that differ only in case. A quoted local part is compared by its content (RFC 5321
 * 4.1.2: `"a"@x` and `a@x` are the same mailbox, `\b` is `b`). For checked addresses.
 */
export function recipientKey(address: string): string {
  const { local, domain } = splitAddress(address);
  const content = local.startsWith('"') ? local.slice(1, -1).replace(/\\(.)/g, '$1') : local;
  return `${content}@${domain}`.toLowerCase();
}

/** A host name (IDNs converted to A-labels) or an address literal; null when neither. */
function checkDomain(domain: string): string | null {
  if (domain.startsWith('[')) return /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]$/.test(domain) ? domain : null;
  // smtp-server hands punycode domains over in Unicode. UTS 46 (domainToASCII) refuses
  // what IDNA 2008 does not allow (controls, U+FFFD, ZWJ outside its context: '').
  const ascii = NON_ASCII.test(domain) ? domainToASCII(domain) : domain;
  if (ascii === '' || ascii.length > MAX_DOMAIN) return null;
  return ascii.split('.').every((label) => LABEL.test(label)) ? ascii : null;
}
