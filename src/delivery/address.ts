// Envelope address checks (RFC 5321 4.1.2, 4.5.3.1) and the canonical form programs get.
// Pure. smtp-server's own parser is lenient (it accepts `$(id)@x`, `a;b@x`, 65-octet
// local parts) and turns punycode domains into Unicode; this module is the strict gate.

import { domainToASCII } from 'node:url';
import type { SmtpReply } from '../smtp/reply.js';

export type AddressRole = 'sender' | 'recipient';

export type AddressCheck = { readonly ok: true; readonly address: string } | { readonly ok: false; readonly reply: SmtpReply };

/** RFC 5322 atext: what a Dot-string may hold. `$` and backquote are legal, `(`, `;` are not. */
const DOT_STRING = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
/** RFC 5321 Quoted-string: printable ASCII and space; `"` and `\` only as a quoted pair. */
const QUOTED_STRING = /^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*"$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const NON_ASCII = /[\u0080-\u{10ffff}]/u;

const MAX_LOCAL_PART = 64;
const MAX_DOMAIN = 255;

function refuse(role: AddressRole, text: string): AddressCheck {
  // 5.1.7 bad sender's mailbox syntax, 5.1.3 bad destination mailbox syntax (RFC 3463).
  const detail = role === 'sender' ? '5.1.7' : '5.1.3';
  return { ok: false, reply: { code: 553, text: `${detail} ${role} address rejected: ${text}` } };
}

/**
 * Checks an address as smtp-server parsed it (source route already dropped) and returns
 * the form used from here on: the domain in ASCII (A-labels), the local part unchanged.
 * The null sender '' passes for the sender only.
 */
export function checkAddress(address: string, role: AddressRole): AddressCheck {
  if (address === '') return role === 'sender' ? { ok: true, address } : refuse(role, 'empty address');
  // A leading "-" would read as an option to many programs (argument injection).
  if (address.startsWith('-')) return refuse(role, 'must not begin with "-"');
  const at = address.lastIndexOf('@');
  if (at <= 0) return refuse(role, 'no domain');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  if (NON_ASCII.test(local)) {
    // SMTPUTF8 is not offered (RFC 6531 3.4): 8-bit local parts are refused.
    return { ok: false, reply: { code: 553, text: '5.6.7 non-ASCII address without SMTPUTF8' } };
  }
  if (local.length > MAX_LOCAL_PART) return refuse(role, `local part longer than ${MAX_LOCAL_PART} octets`);
  if (!DOT_STRING.test(local) && !QUOTED_STRING.test(local)) return refuse(role, 'bad local part syntax');
  const asciiDomain = checkDomain(domain);
  if (asciiDomain === null) return refuse(role, 'bad domain syntax');
  return { ok: true, address: `${local}@${asciiDomain}` };
}

/** A host name (IDNs converted to A-labels) or an address literal; null when neither. */
function checkDomain(domain: string): string | null {
  if (domain.startsWith('[')) return /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]$/.test(domain) ? domain : null;
  // smtp-server hands punycode domains over in Unicode; programs and routing get ASCII.
  const ascii = NON_ASCII.test(domain) ? domainToASCII(domain) : domain;
  if (ascii === '' || ascii.length > MAX_DOMAIN) return null;
  return ascii.split('.').every((label) => LABEL.test(label)) ? ascii : null;
}
