// The TLS part of one Listen, folded from the Listen and ESMTP_Listener scopes: STARTTLS
// or Use_SSL, the server's pair, and client certificates (TLS_Verify_Mode, TLS_Client_CA).
// Pure: the files are read later by src/config/tls-files.ts. An option that would restrict
// access is honoured or refused, never dropped: a Listen asked to require client
// certificates without TLS, or without a CA to check them against, is an error.

import type { OptionNode } from './ast.js';
import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { ClientVerifyMode, ParsedTls, SourcePosition } from './types.js';
import { readText } from './values.js';

export interface WrittenPath {
  readonly file: string;
  readonly position: SourcePosition;
}

export interface WrittenVerifyMode {
  readonly mode: ClientVerifyMode;
  readonly position: SourcePosition;
}

/** What one scope says about TLS; the Listen's own values win over the listener's. */
export interface TlsOptions {
  readonly extensions?: { readonly starttls: boolean };
  readonly useSsl?: boolean;
  readonly certificate?: WrittenPath | null;
  readonly key?: WrittenPath | null;
  readonly verifyMode?: WrittenVerifyMode | null;
  readonly clientCa?: WrittenPath | null;
}

/**
 * Momentum documents "require" and "none", and verifies a certificate that is presented
 * for any other value; smtpipe names that third behaviour "optional" and refuses other
 * words rather than guessing what a typo meant.
 */
const VERIFY_MODES: readonly ClientVerifyMode[] = ['none', 'optional', 'require'];

export function readVerifyMode(opt: OptionNode, sink: DiagnosticSink): WrittenVerifyMode | undefined {
  const text = readText(opt, sink);
  if (text === undefined) return undefined;
  const mode = VERIFY_MODES.find((m) => m === text.toLowerCase());
  if (mode !== undefined) return { mode, position: opt.value.position };
  sink.error(
    ConfigCode.INVALID_VALUE,
    opt.value.position,
    `${opt.name}: expected "none", "optional" or "require", got ${JSON.stringify(text)}`,
  );
  return undefined;
}

export function foldTls(
  inner: TlsOptions,
  outer: TlsOptions,
  label: string,
  position: SourcePosition,
  sink: DiagnosticSink,
): ParsedTls | null {
  const implicit = inner.useSsl ?? outer.useSsl ?? false;
  const starttls = (inner.extensions ?? outer.extensions)?.starttls ?? false;
  const certificate = inner.certificate ?? outer.certificate;
  const key = inner.key ?? outer.key;
  const verifyMode = inner.verifyMode ?? outer.verifyMode;
  const clientCa = inner.clientCa ?? outer.clientCa;
  if (!implicit && !starttls) {
    if (verifyMode?.mode === 'require') {
      // Plain SMTP cannot carry a certificate: admitting everyone would fail open.
      sink.error(
        ConfigCode.INVALID_VALUE,
        verifyMode.position,
        `${label}: TLS_Verify_Mode = "require" needs TLS: add "STARTTLS" to SMTP_Extensions or set Use_SSL = true (or TLS_Verify_Mode = "none" for this Listen)`,
      );
      return null;
    }
    const stray = certificate ?? key ?? clientCa ?? (verifyMode?.mode === 'optional' ? verifyMode : undefined);
    if (stray) sink.warn(ConfigCode.UNUSED_OPTION, stray.position, `${label}: TLS options are unused without "STARTTLS" in SMTP_Extensions or Use_SSL = true`);
    return null;
  }
  if (!certificate || !key) {
    // smtp-server would fall back to its built-in certificate, whose key is public.
    sink.error(
      ConfigCode.MISSING_OPTION,
      position,
      `${label}: ${implicit ? 'Use_SSL' : 'STARTTLS'} needs both TLS_Certificate and TLS_Key (there is no built-in certificate)`,
    );
    return null;
  }
  // A CA alone means "check what clients present", as Momentum does by default.
  const mode = verifyMode?.mode ?? (clientCa ? 'optional' : 'none');
  if (mode !== 'none' && !clientCa) {
    sink.error(
      ConfigCode.MISSING_OPTION,
      verifyMode?.position ?? position,
      `${label}: TLS_Verify_Mode = "${mode}" needs TLS_Client_CA, the PEM file of the CAs client certificates must chain to`,
    );
    return null;
  }
  // A Listen that opts out of its listener's CA with "none" says what it means; a CA
  // written beside "none" in one scope is a contradiction worth a word.
  const sameScope = (inner.verifyMode !== undefined) === (inner.clientCa !== undefined);
  if (mode === 'none' && clientCa && sameScope) {
    sink.warn(ConfigCode.UNUSED_OPTION, clientCa.position, `${label}: TLS_Client_CA is unused with TLS_Verify_Mode = "none"`);
  }
  const withCa = mode !== 'none' && clientCa != null;
  return {
    mode: implicit ? 'implicit' : 'starttls',
    certificateFile: certificate.file,
    keyFile: key.file,
    certificatePosition: certificate.position,
    keyPosition: key.position,
    verifyMode: mode,
    clientCaFile: withCa ? clientCa.file : null,
    clientCaPosition: withCa ? clientCa.position : null,
  };
}
