// The registry of config diagnostic codes: stable strings, never reused or renamed
// (operators grep for them). Only codes live here; messages are written where found.

export const ConfigCode = {
  /** The main config file could not be read (missing, unreadable, not a regular file: a FIFO, a device). */
  READ: 'ERR_CONFIG_READ',
  /** The text does not follow the ecelerity.conf grammar (lexer or parser). */
  SYNTAX: 'ERR_CONFIG_SYNTAX',
  /** An `include` / `readonly_include` is missing, unreadable, not a regular file, a cycle, or malformed. */
  INCLUDE: 'ERR_CONFIG_INCLUDE',
  /** A directory include skipped an editor backup or package leftover (`*~`, `*.rpmsave`, `*.dpkg-old`, ...). */
  INCLUDE_SKIPPED: 'WARN_CONFIG_INCLUDE_SKIPPED',
  /** An option smtpipe does not know: inside a scope smtpipe validates, or at top level and not in the Momentum catalogue. */
  UNKNOWN_OPTION: 'ERR_CONFIG_UNKNOWN_OPTION',
  /** A known option with a value of the wrong shape or out of range. */
  INVALID_VALUE: 'ERR_CONFIG_INVALID_VALUE',
  /** A required option (program_name, domain) or a required scope name is absent. */
  MISSING_OPTION: 'ERR_CONFIG_MISSING_OPTION',
  /** No Listen or no pipe_transport in the whole configuration. */
  MISSING_STANZA: 'ERR_CONFIG_MISSING_STANZA',
  /** Something set twice where once is the rule (option, transport name, domain, Listen). */
  DUPLICATE: 'ERR_CONFIG_DUPLICATE',
  /** A top-level stanza that is neither smtpipe's nor in the Momentum catalogue (src/config/momentum-names.ts): a typo, most likely. */
  UNKNOWN_STANZA: 'ERR_CONFIG_UNKNOWN_STANZA',
  /** A top-level Momentum core option smtpipe does not use (one in src/config/momentum-names.ts). */
  IGNORED_OPTION: 'WARN_CONFIG_IGNORED_OPTION',
  /** A Momentum stanza (module, Domain, Binding, ...) smtpipe does not use; contents unchecked. */
  IGNORED_STANZA: 'WARN_CONFIG_IGNORED_STANZA',
  /** A documented Momentum listener option smtpipe does not implement yet. */
  UNSUPPORTED_OPTION: 'WARN_CONFIG_UNSUPPORTED_OPTION',
  /** An option that has no effect where it is written (TLS_Key without TLS). */
  UNUSED_OPTION: 'WARN_CONFIG_UNUSED_OPTION',
  /** TLS_Certificate / TLS_Key / TLS_Client_CA unreadable, not a regular file, not PEM, or not a matching pair. */
  TLS: 'ERR_CONFIG_TLS',
  /** The certificate is expired or not yet valid: clients that verify will refuse it. */
  TLS_VALIDITY: 'WARN_CONFIG_TLS_VALIDITY',
  /** `user` names no account here (getent passwd), or a numeric uid needs `group` too. */
  UNKNOWN_USER: 'ERR_CONFIG_UNKNOWN_USER',
  /** `group` names no group here (getent group). */
  UNKNOWN_GROUP: 'ERR_CONFIG_UNKNOWN_GROUP',
  /** getent itself failed (missing, timed out, NSS error): the account could not be checked. */
  ACCOUNT_LOOKUP: 'ERR_CONFIG_ACCOUNT_LOOKUP',
  /** A program would run with uid or gid 0 and its transport does not say allow_root = true. */
  PROGRAM_AS_ROOT: 'ERR_CONFIG_PROGRAM_AS_ROOT',
  /** `user` / `group` name other ids than smtpipe's own, and smtpipe does not run as root. */
  NEEDS_ROOT: 'ERR_CONFIG_NEEDS_ROOT',
  /** `directory` or Spool_Directory does not exist, is not a directory, cannot be examined (or, Spool_Directory, written). */
  DIRECTORY: 'ERR_CONFIG_DIRECTORY',
  /** program_name's or recipient_check's program, or a directory on its way, does not exist. */
  PROGRAM_MISSING: 'ERR_CONFIG_PROGRAM_MISSING',
  /** program_name's or recipient_check's program is not a regular file (a directory, a device...). */
  PROGRAM_NOT_FILE: 'ERR_CONFIG_PROGRAM_NOT_FILE',
  /** The transport's user may not execute the program, or not search a directory on its way. */
  PROGRAM_ACCESS: 'ERR_CONFIG_PROGRAM_ACCESS',
  /** output_file / error_file: no such directory, not a regular file there, or not writable (creatable) by the transport's user. */
  OUTPUT_FILE: 'ERR_CONFIG_OUTPUT_FILE',
  /** Auth_Password_File unreadable, not a regular file, or a line that is not `user:$scrypt$...` (named at file:line). */
  AUTH: 'ERR_CONFIG_AUTH',
  /** A Momentum option smtpipe refuses rather than ignore, because ignoring it would widen access (Relay_Hosts). */
  REFUSED_OPTION: 'ERR_CONFIG_REFUSED_OPTION',
} as const;

export type ConfigCodeValue = (typeof ConfigCode)[keyof typeof ConfigCode];
