/**
 * A set that holds no table until its first item: most peers never blocklist a parent, and an
 * empty `Set` still costs about 150 bytes. Drops its table again when emptied.
 */
export class LazySet<T> implements Iterable<T> {
  private items: Set<T> | undefined

  get size(): number {
    return this.items?.size ?? 0
  }

  has(item: T): boolean {
    return this.items?.has(item) ?? false
  }

  add(item: T): this {
    this.items ??= new Set()
    this.items.add(item)
    return this
  }

  delete(item: T): boolean {
    const deleted = this.items?.delete(item) ?? false
    if (this.items?.size === 0) this.items = undefined
    return deleted
  }

  [Symbol.iterator](): Iterator<T> {
    return (this.items ?? EMPTY)[Symbol.iterator]() as Iterator<T>
  }
}

const EMPTY: ReadonlySet<never> = new Set()
