// The syntax tree of an ecelerity.conf file: what was written and where, before any
// meaning is given to names. Built by parser.ts, spliced by include.ts, read by schema.

import type { SourcePosition } from './types.js';

export interface ScalarNode {
  readonly kind: 'scalar';
  /** Bare word as written, or the decoded contents of a quoted string. */
  readonly text: string;
  readonly quoted: boolean;
  readonly position: SourcePosition;
}

export interface ListNode {
  readonly kind: 'list';
  readonly items: readonly ValueNode[];
  readonly position: SourcePosition;
}

export interface MapEntryNode {
  readonly key: ScalarNode;
  readonly value: ValueNode;
}

export interface MapNode {
  readonly kind: 'map';
  readonly entries: readonly MapEntryNode[];
  readonly position: SourcePosition;
}

export type ValueNode = ScalarNode | ListNode | MapNode;

/** `name = value`. */
export interface OptionNode {
  readonly kind: 'option';
  /** As written, for messages. */
  readonly name: string;
  /** Lower-cased: names are case-insensitive. */
  readonly key: string;
  readonly value: ValueNode;
  readonly position: SourcePosition;
}

/** `Type [name] { items }`. */
export interface ScopeNode {
  readonly kind: 'scope';
  /** As written, e.g. `ESMTP_Listener`. */
  readonly type: string;
  /** Lower-cased type. */
  readonly key: string;
  readonly name: ScalarNode | undefined;
  readonly items: readonly ItemNode[];
  readonly position: SourcePosition;
}

/** `include "path"` or `readonly_include "path"`; gone once include.ts has run. */
export interface IncludeNode {
  readonly kind: 'include';
  readonly keyword: string;
  readonly path: ScalarNode;
  readonly position: SourcePosition;
}

export type ItemNode = OptionNode | ScopeNode | IncludeNode;

/** `Listen ":25"` / `ESMTP_Listener`: how a scope is named in messages. */
export function describeScope(scope: ScopeNode): string {
  return scope.name === undefined ? scope.type : `${scope.type} ${JSON.stringify(scope.name.text)}`;
}
