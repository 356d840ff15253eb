// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) a trusted
// proxy sends before the first SMTP byte: parsed strictly, since its address reaches
// logs, Received: and programs. Pure: it judges bytes; proxy-reader.ts does the I/O.
// The spec says a receiver must drop a connection whose header is malformed and must not
// guess whether one is present, so anything but a well-formed header is `invalid`.

import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from './ip-address.js';

/** Spec 2.1: the longest v1 line, "PROXY TCP6 " + two full IPv6 + two ports + CRLF. */
export const PROXY_V1_MAX_BYTES = 107;
/**
 * Ours, not the spec's (which allows 16 + 65535): room for HAProxy's TLVs (ALPN, SNI,
 * unique ID, SSL details) many times over, while a waiting socket holds at most this.
 */
export const PROXY_V2_MAX_BYTES = 4096;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** Spec 2.2: \r\n\r\n\0\r\nQUIT\n. */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
const LF = 0x0a;
const CR = 0x0d;
/** Decimal 0-65535, no sign, no leading zero (spec 2.1: "without leading zeroes"). */
const V1_PORT = /^(?:0|[1-9][0-9]{0,4})$/;

export interface ProxiedClient {
  /** Canonical (ip-address.ts): IPv4 dotted, IPv6 compressed lower-case. */
  readonly address: string;
  readonly port: number;
}

export type ProxyParse =
  /** A prefix of a header that may still become valid: read more. */
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'invalid'; readonly reason: string }
  | {
      readonly kind: 'header';
      readonly version: 1 | 2;
      /** Bytes the header took; what follows is the client's. */
      readonly bytes: number;
      /** null for v1 UNKNOWN, v2 LOCAL and v2 AF_UNSPEC: the connection's own peer applies. */
      readonly client: ProxiedClient | null;
    };

const invalid = (reason: string): ProxyParse => ({ kind: 'invalid', reason });
const INCOMPLETE: ProxyParse = { kind: 'incomplete' };

/** Judges the first bytes of a connection: the header, or why there is none (yet). */
export function parseProxyHeader(input: Buffer): ProxyParse {
  if (startsLike(input, V2_SIGNATURE)) {
    return input.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(input);
  }
  if (startsLike(input, V1_PREFIX)) {
    return input.length < V1_PREFIX.length ? INCOMPLETE : parseV1(input);
  }
  return invalid('not a PROXY header');
}

/** True when `input` and `prefix` agree on their common length. */
function startsLike(input: Buffer, prefix: Buffer): boolean {
  const n = Math.min(input.length, prefix.length);
  return input.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(input: Buffer): ProxyParse {
  const lf = input.subarray(0, PROXY_V1_MAX_BYTES).indexOf(LF);
  if (lf === -1) return input.length >= PROXY_V1_MAX_BYTES ? invalid(`v1 header longer than ${PROXY_V1_MAX_BYTES} bytes`) : INCOMPLETE;
  if (input[lf - 1] !== CR) return invalid('v1 header does not end with CRLF');
  const line = input.subarray(V1_PREFIX.length, lf - 1).toString('latin1');
  const header = (client: ProxiedClient | null): ProxyParse => ({ kind: 'header', version: 1, bytes: lf + 1, client });
  // Spec 2.1: with UNKNOWN the receiver ignores everything up to the CRLF.
  if (line === 'UNKNOWN' || line.startsWith('UNKNOWN ')) return header(null);
  if (/[^\x21-\x7e ]/.test(line)) return invalid('v1 header holds a control or non-ASCII byte');
  const fields = line.split(' ');
  const [family, source, destination, sourcePort, destinationPort] = fields;
  if (family !== 'TCP4' && family !== 'TCP6') return invalid(`v1 family ${JSON.stringify(family ?? '')} is not TCP4, TCP6 or UNKNOWN`);
  if (fields.length !== 5 || fields.includes('')) return invalid('v1 header is not "PROXY family source destination sport dport" with single spaces');
  const valid = family === 'TCP4' ? isIPv4 : (address: string) => isIPv6(address) && !address.includes('%');
  if (!valid(source ?? '')) return invalid(`v1 source address is not ${family === 'TCP4' ? 'an IPv4' : 'an IPv6'} address`);
  if (!valid(destination ?? '')) return invalid(`v1 destination address is not ${family === 'TCP4' ? 'an IPv4' : 'an IPv6'} address`);
  const port = v1Port(sourcePort ?? '');
  if (port === null || v1Port(destinationPort ?? '') === null) return invalid('v1 port is not a decimal 0-65535 without leading zeros');
  return header({ address: canonicalIp(source ?? ''), port });
}

function v1Port(text: string): number | null {
  if (!V1_PORT.test(text)) return null;
  const port = Number(text);
  return port <= 65535 ? port : null;
}

function parseV2(input: Buffer): ProxyParse {
  if (input.length < V2_FIXED_BYTES) return INCOMPLETE;
  const versionCommand = input[12] ?? 0;
  if (versionCommand >> 4 !== 2) return invalid(`v2 signature with version ${versionCommand >> 4}, not 2`);
  const command = versionCommand & 0x0f;
  if (command !== 0 && command !== 1) return invalid(`v2 command ${command} is neither LOCAL (0) nor PROXY (1)`);
  const length = input.readUInt16BE(14);
  const bytes = V2_FIXED_BYTES + length;
  if (bytes > PROXY_V2_MAX_BYTES) return invalid(`v2 header of ${bytes} bytes, more than the ${PROXY_V2_MAX_BYTES} accepted`);
  if (input.length < bytes) return INCOMPLETE;
  const header = (client: ProxiedClient | null): ProxyParse => ({ kind: 'header', version: 2, bytes, client });
  // Spec 2.2: LOCAL (the proxy's own health check) uses the real endpoints, family ignored.
  if (command === 0) return header(null);
  const block = input.subarray(V2_FIXED_BYTES, bytes);
  // Whatever follows the address block is TLVs (spec 2.2.x): skipped, none is needed here.
  switch (input[13]) {
    case 0x00: // AF_UNSPEC: the receiver may use the real endpoints.
      return header(null);
    case 0x11: // TCP over IPv4: src(4) dst(4) sport(2) dport(2).
      if (block.length < 12) return invalid('v2 address block too short for TCP over IPv4');
      return header({ address: [...block.subarray(0, 4)].join('.'), port: block.readUInt16BE(8) });
    case 0x21: // TCP over IPv6: src(16) dst(16) sport(2) dport(2).
      if (block.length < 36) return invalid('v2 address block too short for TCP over IPv6');
      return header({ address: ipv6FromBytes(block.subarray(0, 16)), port: block.readUInt16BE(32) });
    // UDP over IPv4/IPv6, UNIX stream/datagram: valid combinations smtpipe does not use.
    // Spec 2.2: a receiver must then fall back to AF_UNSPEC (the real endpoints), not refuse.
    case 0x12:
    case 0x22:
    case 0x31:
    case 0x32:
      return header(null);
    default:
      return invalid(`v2 family/transport 0x${(input[13] ?? 0).toString(16).padStart(2, '0')} is not defined by the spec`);
  }
}

function ipv6FromBytes(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalIp(groups.join(':'));
}
