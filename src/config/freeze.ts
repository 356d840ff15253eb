// Deep-freezing of the finished Config: nothing downstream may change it (house style:
// one validated, frozen config object). Object.freeze cannot stop Map#set, so maps are
// rebuilt as FrozenMap, whose mutators throw.

export class FrozenMap<K, V> extends Map<K, V> {
  constructor(entries: Iterable<readonly [K, V]>) {
    super();
    for (const [k, v] of entries) super.set(k, v);
    Object.freeze(this);
  }

  override set(key: K): never {
    throw new TypeError(`cannot set ${String(key)}: this map is part of the frozen config`);
  }

  override delete(key: K): never {
    throw new TypeError(`cannot delete ${String(key)}: this map is part of the frozen config`);
  }

  override clear(): never {
    throw new TypeError('cannot clear: this map is part of the frozen config');
  }
}

/** Freezes `value` and everything reachable from it; Maps become FrozenMaps. */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  if (value instanceof Map) {
    const entries = [...value.entries()].map(([k, v]) => [deepFreeze(k), deepFreeze(v)] as const);
    return new FrozenMap(entries) as T;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = deepFreeze(record[key]);
  return Object.freeze(value);
}
