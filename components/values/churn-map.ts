// A Map for entries that come and go at the rate of frames (requests in flight, by id key), which
// lives as long as the session. Why not a plain Map: V8 gives a Map a new hash table whenever it
// fills up with live and deleted entries, and allocates that table in the generation of the one it
// replaces. A long-lived Map's table that once survives two young collections (a quiet moment is
// enough) is promoted, and from then on every table it grows into is allocated in the old
// generation. Each replaced table is dead but not yet collected, and its slots still point at the
// keys and values it held: through the old generation's remembered set they keep those young
// objects alive across young collections, so the requests, their id strings and the tables
// themselves all end up in the old generation as garbage only a full collection frees.
// Measured on the gateway bench (200,000 calls, 64 in flight): 75 MB promoted and a 122 MB peak
// RSS with Maps, 16 MB and 93 MB with this (docs/performance.md, "Gateway").
//
// The remedy is to start over: every RENEW_AFTER insertions the live entries (as many as are in
// flight) move into a new Map, whose table is young again. Insertion order is kept, so iteration
// order is the same as a Map's.

/** Insertions between renewals: the copy (the live entries) is paid once per this many. */
const RENEW_AFTER = 1024;

export class ChurnMap<K, V> {
  #map = new Map<K, V>();
  #insertions = 0;

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    return this.#map.get(key);
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): this {
    if (++this.#insertions >= RENEW_AFTER) {
      this.#insertions = 0;
      this.#map = new Map(this.#map);
    }
    this.#map.set(key, value);
    return this;
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map = new Map();
    this.#insertions = 0;
  }

  /**
   * As a Map's: entries may be deleted while they are walked. An insertion while walking may start
   * the Map over, after which the walk goes on over the entries as they were: walk, then insert.
   */
  entries(): MapIterator<[K, V]> {
    return this.#map.entries();
  }

  keys(): MapIterator<K> {
    return this.#map.keys();
  }

  values(): MapIterator<V> {
    return this.#map.values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#map.entries();
  }
}
