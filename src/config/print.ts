// `smtpipe --check --print`: the effective config as ecelerity.conf text, every option
// written out with its value or default (as `postconf` and `nginx -T` do), driven by the
// option tables. Loading the text gives the same config (positions aside). Pure: no I/O.
// It must not print what load would refuse: a value the file format cannot express (a
// timeout of 1.5 s) is a caller bug and throws.

import { GLOBAL_OPTIONS } from './global-options.js';
import { LISTENER_OPTIONS, PEER_FIELDS } from './listener-options.js';
import { fields, quote, type OptionScope } from './option-table.js';
import { TRANSPORT_OPTIONS } from './transport-options.js';
import type { ParsedConfig, ParsedListener, TransportConfig } from './types.js';

export { quote } from './option-table.js';

export function printConfig(config: ParsedConfig): string {
  const lines = [`# smtpipe configuration printed from ${JSON.stringify(config.file)}`, ...printScope(GLOBAL_OPTIONS, config, '')];
  // One ESMTP_Listener (or LMTP_Listener) per Listen, its options inside the Listen:
  // folding them back into shared listener-scope options would gain nothing.
  for (const listener of config.listeners) {
    const stanza = listener.protocol === 'lmtp' ? 'LMTP_Listener' : 'ESMTP_Listener';
    lines.push('', `${stanza} {`, `  Listen ${quote(listener.label)} {`, ...printScope(LISTENER_OPTIONS, listener, '    '), ...printPeers(listener), '  }', '}');
  }
  for (const transport of config.transports) {
    lines.push('', `pipe_transport ${quote(transport.name)} {`, ...printScope(TRANSPORT_OPTIONS, transport, '  '));
    // A loaded config knows who the program runs as (user, group and smtpipe's own uid).
    if ('runAs' in transport) lines.push(`  # runs as ${runAsText(transport as TransportConfig)}`);
    lines.push('}');
  }
  return `${lines.join('\n')}\n`;
}

/** `Name = value` per row; an option that is not set is named in a comment with its default. */
function printScope<W, R>(scope: OptionScope<W, R>, resolved: R, indent: string): string[] {
  return fields(scope.rows).map(([, spec]) => {
    const value = spec.print(resolved);
    if (value !== null) return `${indent}${spec.name} = ${value}`;
    // Markdown quotes are for docs/configuration.md, not for a config file.
    return `${indent}# ${spec.name}: ${(spec.defaultDoc ?? spec.default ?? 'not set').replaceAll('`', '')}`;
  });
}

/** Each Peer inside its Listen, most specific first (the order they are matched in), with only what it sets. */
function printPeers(listener: ParsedListener): string[] {
  return listener.peers.flatMap((peer) => {
    const set = PEER_FIELDS.filter((field) => peer.overrides[field] !== undefined).map((field) => {
      const value = field === 'enable' ? String(peer.overrides.enable) : LISTENER_OPTIONS.rows[field].print({ ...listener, ...peer.overrides });
      return `      ${LISTENER_OPTIONS.rows[field].name} = ${value}`;
    });
    return [`    Peer ${quote(peer.label)} {`, ...set, '    }'];
  });
}

function runAsText(t: TransportConfig): string {
  return t.runAs === null ? "smtpipe's own user and group" : `uid ${t.runAs.uid} gid ${t.runAs.gid}`;
}
