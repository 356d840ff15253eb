// The HELO/EHLO argument check (RFC 5321 4.1.1.1: Domain / address-literal). Pure.
// Decides only what is syntax; what a name is worth (DNS, spoofing) is not judged here.
// The value reaches programs as ${client_helo} and CLIENT_HELO, so nothing else may pass.

import { isIPv4, isIPv6 } from 'node:net';

/** RFC 5321 4.5.3.1.2: a domain name is at most 255 octets. */
const MAX_DOMAIN = 255;
/**
 * A label: letters, digits, hyphens, not beginning or ending with a hyphen (RFC 5321
 * sub-domain = Let-dig [Ldh-str]). Underscores are let through as Postfix does by default
 * (smtpd_helo_restrictions empty): Windows clients send machine names such as `my_pc`, and
 * an underscore cannot make an argument read as an option. A-labels (xn--) are LDH.
 */
const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;
const IPV6_TAG = /^ipv6:/i;

/**
 * True when `value` is a Domain (a trailing root dot allowed, as Postfix allows it) or an
 * address literal `[192.0.2.1]` / `[IPv6:2001:db8::1]`. RFC 5321's grammar allows only a
 * Domain after HELO; an address literal is let through there too, as Postfix does.
 * General address literals (`[tag:...]`, RFC 5321 4.1.3) are refused: IANA has registered
 * no tag but IPv6, so none can be valid.
 */
export function isHeloArgument(value: string): boolean {
  if (value.startsWith('[')) return isAddressLiteral(value);
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (name === '' || name.length > MAX_DOMAIN) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

function isAddressLiteral(value: string): boolean {
  if (!value.endsWith(']')) return false;
  const inner = value.slice(1, -1);
  if (IPV6_TAG.test(inner)) {
    const address = inner.slice(5);
    // No zone ID (`%eth0`): RFC 5321's IPv6-addr has none, and it is client text.
    return /^[0-9A-Fa-f:.]+$/.test(address) && isIPv6(address);
  }
  return isIPv4(inner);
}
