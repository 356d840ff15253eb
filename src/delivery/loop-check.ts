// Mail loop policy: what the header scan of src/message/header-scan.ts reported, judged
// against Max_Received_Headers (Postfix's hopcount_limit) and, for transports that write
// Delivered-To:, the recipients of one delivery (Postfix local(8)'s rule). Pure.

import type { TransportConfig } from '../config/types.js';
import type { DeliveredToWatch, HeaderFacts } from '../message/message-store.js';
import { recipientKey } from './address.js';

/** RFC 3463 5.4.6, routing loop detected: no program ran. */
export interface LoopDetected {
  readonly kind: 'loop-detected';
  /** Received: fields in the header section as received. */
  readonly receivedHeaders: number;
  /** The recipient a Delivered-To: field named; null when the Received: count decided. */
  readonly deliveredTo: string | null;
}

interface Addressed {
  readonly address: string;
  readonly transport: TransportConfig;
}

/**
 * The Delivered-To: values worth reporting: those naming a recipient whose transport writes
 * Delivered-To: itself (delivered_to_header), compared as repeated recipients are
 * (recipientKey). Undefined when no transport does: the scan then keeps no value at all.
 */
export function deliveredToWatch(recipients: readonly Addressed[]): DeliveredToWatch | undefined {
  const keys = new Set(recipients.filter((r) => r.transport.deliveredToHeader).map((r) => recipientKey(r.address)));
  if (keys.size === 0) return undefined;
  return (value) => keys.has(deliveredToKey(value));
}

/**
 * A loop for this delivery, or null. More Received: fields than the limit refuse every
 * recipient; a Delivered-To: concerns the recipients it names (in LMTP each delivery has
 * one, so the others are delivered; in SMTP one delivery carries them all).
 */
export function detectLoop(
  headers: HeaderFacts,
  delivery: { readonly transport: TransportConfig; readonly recipients: readonly string[]; readonly maxReceivedHeaders: number },
): LoopDetected | null {
  const { receivedHeaders } = headers;
  if (receivedHeaders > delivery.maxReceivedHeaders) return { kind: 'loop-detected', receivedHeaders, deliveredTo: null };
  if (!delivery.transport.deliveredToHeader || headers.deliveredTo.length === 0) return null;
  const seen = new Set(headers.deliveredTo.map(deliveredToKey));
  const looping = delivery.recipients.find((address) => seen.has(recipientKey(address)));
  return looping === undefined ? null : { kind: 'loop-detected', receivedHeaders, deliveredTo: looping };
}

/** A Delivered-To: value as a recipient key; `<a@x>` is read as `a@x`. */
function deliveredToKey(value: string): string {
  const bare = value.startsWith('<') && value.endsWith('>') ? value.slice(1, -1).trim() : value;
  return recipientKey(bare);
}
