/** A Map that forgets its least recently used entry past `capacity`: a cache that cannot grow without bound. */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>()

  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key)
    if (value === undefined) return undefined
    this.entries.delete(key)
    this.entries.set(key, value)
    return value
  }

  /** Sets `key` and returns `value`, so a cache miss reads `map.get(key) ?? map.set(key, compute())`. */
  set(key: K, value: V): V {
    this.entries.delete(key)
    this.entries.set(key, value)
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next()
      if (oldest.done === true) break
      this.entries.delete(oldest.value)
    }
    return value
  }

  delete(key: K): void {
    this.entries.delete(key)
  }
}
