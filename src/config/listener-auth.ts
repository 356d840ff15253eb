// The AUTH part of one Listen, folded from the Listen and ESMTP_Listener scopes: whether
// AUTH is offered, against which password file, before TLS or not, and Require_Auth. Pure:
// the file is read later (password-file.ts). An option that would restrict access is
// honoured or refused, never dropped: Require_Auth without AUTH is an error, not a no-op.

import { ConfigCode } from './codes.js';
import type { DiagnosticSink } from './diagnostics.js';
import type { WrittenPath } from './listener-tls.js';
import type { ListenerAuth, ParsedTls, SourcePosition } from './types.js';

/** What one scope says about AUTH; the Listen's own values win over the listener's. */
export interface AuthOptions {
  readonly extensions?: { readonly auth: boolean };
  readonly authPasswordFile?: WrittenPath | null;
}

export interface FoldedAuth {
  readonly auth: ListenerAuth | null;
  readonly requireAuth: boolean;
}

export function foldAuth(
  inner: AuthOptions,
  outer: AuthOptions,
  resolved: { readonly authAllowPlaintext: boolean; readonly requireAuth: boolean },
  tls: ParsedTls | null,
  where: { readonly label: string; readonly position: SourcePosition },
  sink: DiagnosticSink,
): FoldedAuth | undefined {
  const { label, position } = where;
  const listed = (inner.extensions ?? outer.extensions)?.auth ?? false;
  const file = inner.authPasswordFile ?? outer.authPasswordFile;
  const { authAllowPlaintext: allowPlaintext, requireAuth } = resolved;
  if (!listed) {
    if (requireAuth) {
      // Every MAIL would get 530 with no way to authenticate: refuse rather than guess.
      sink.error(ConfigCode.MISSING_OPTION, position, `${label}: Require_Auth = true needs "AUTH" in SMTP_Extensions (and Auth_Password_File)`);
      return undefined;
    }
    if (file) sink.warn(ConfigCode.UNUSED_OPTION, file.position, `${label}: Auth_Password_File is unused without "AUTH" in SMTP_Extensions`);
    return { auth: null, requireAuth: false };
  }
  if (!file) {
    sink.error(ConfigCode.MISSING_OPTION, position, `${label}: "AUTH" in SMTP_Extensions needs Auth_Password_File (smtpipe passwd writes its lines)`);
    return undefined;
  }
  if (tls === null && !allowPlaintext) {
    // RFC 4954 4: PLAIN and LOGIN send the password as it is; without TLS they are never offered.
    sink.error(
      ConfigCode.INVALID_VALUE,
      position,
      `${label}: "AUTH" is offered only over TLS: add "STARTTLS" to SMTP_Extensions or set Use_SSL = true (or Auth_Allow_Plaintext = true to send passwords in clear)`,
    );
    return undefined;
  }
  return { auth: { passwordFile: file.file, passwordFilePosition: file.position, allowPlaintext, users: null }, requireAuth };
}
