/**
 * Seeded randomness for the swarm simulator. Every random choice of a run draws from a generator
 * made here, so one seed value gives one run, on any machine.
 */

/** A uniform source in [0, 1). */
export type Random = () => number

/** splitmix32: spreads a small or sequential seed over all 32 bits before xoshiro uses it. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x9e3779b9) >>> 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

/**
 * xoshiro128** seeded through splitmix32: a period of 2^128 - 1 and no correlation between
 * generators made from neighbouring seeds (host 7's and host 8's), which a run makes many of.
 */
export function createRandom(seed: number): Random {
  const next = splitmix32(seed)
  let a = next()
  let b = next()
  let c = next()
  let d = next()
  if ((a | b | c | d) === 0) a = 1
  return () => {
    const result = Math.imul(rotateLeft(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotateLeft(d, 11)
    return result / 4294967296
  }
}

function rotateLeft(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits))
}

/** A seed for a part of a run (a host, a task), derived from the run's seed and the part's number. */
export function deriveSeed(seed: number, part: number): number {
  return splitmix32((seed ^ Math.imul(part + 1, 0x27d4eb2d)) >>> 0)()
}

/** An integer in [0, bound). */
export function randomInt(random: Random, bound: number): number {
  return Math.floor(random() * bound)
}

/** One element of a non-empty list, uniformly; undefined for an empty one. */
export function pick<T>(random: Random, items: readonly T[]): T | undefined {
  return items[randomInt(random, items.length)]
}

/** Shuffles `items` in place (Fisher-Yates) and returns it. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = randomInt(random, index + 1)
    const held = items[index] as T
    items[index] = items[other] as T
    items[other] = held
  }
  return items
}

/** Up to `count` distinct elements of `items`, uniformly, in random order; `items` is left alone. */
export function sample<T>(random: Random, items: readonly T[], count: number): T[] {
  const copy = items.slice()
  const taken = Math.min(count, copy.length)
  // A partial Fisher-Yates: only the first `taken` places are drawn.
  for (let index = 0; index < taken; index++) {
    const other = index + randomInt(random, copy.length - index)
    const held = copy[index] as T
    copy[index] = copy[other] as T
    copy[other] = held
  }
  copy.length = taken
  return copy
}

/** An exponentially distributed value with the given mean (the gap between Poisson arrivals). */
export function exponential(random: Random, mean: number): number {
  return -Math.log(1 - random()) * mean
}
