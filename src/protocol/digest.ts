import { createHash, type Hash } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { DamselflyError } from './damselfly-error.js'

export const DIGEST_ALGORITHMS = ['sha256', 'sha512', 'crc32'] as const
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number]

/** A content digest written `<algorithm>:<lowercase hex>`, as in `sha256:e3b0...`. */
export interface Digest {
  readonly algorithm: DigestAlgorithm
  readonly hex: string
}

const HEX_LENGTH = { sha256: 64, sha512: 128, crc32: 8 } as const satisfies Record<DigestAlgorithm, number>

export function parseDigest(value: string): Digest {
  const [algorithm, hex, ...rest] = value.split(':')
  const known = DIGEST_ALGORITHMS.find((a) => a === algorithm)
  if (known === undefined || hex === undefined || rest.length > 0) {
    throw new DamselflyError('INVALID_ARGUMENT', `digest must be <${DIGEST_ALGORITHMS.join('|')}>:<hex>, got ${JSON.stringify(value)}`)
  }
  const lower = hex.toLowerCase()
  if (lower.length !== HEX_LENGTH[known] || !/^[0-9a-f]+$/.test(lower)) {
    throw new DamselflyError('INVALID_ARGUMENT', `${known} digest needs ${HEX_LENGTH[known]} hex digits, got ${JSON.stringify(hex)}`)
  }
  return { algorithm: known, hex: lower }
}

export function formatDigest(digest: Digest): string {
  return `${digest.algorithm}:${digest.hex}`
}

/** Incremental digest over a byte stream. */
export interface Hasher {
  update(chunk: Uint8Array): void
  /** The digest of everything passed to update; call once. */
  digest(): Digest
}

class CryptoHasher implements Hasher {
  private readonly hash: Hash
  constructor(private readonly algorithm: 'sha256' | 'sha512') {
    this.hash = createHash(algorithm)
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk)
  }
  digest(): Digest {
    return { algorithm: this.algorithm, hex: this.hash.digest('hex') }
  }
}

class Crc32Hasher implements Hasher {
  private value = 0
  update(chunk: Uint8Array): void {
    this.value = crc32(chunk, this.value)
  }
  digest(): Digest {
    return { algorithm: 'crc32', hex: this.value.toString(16).padStart(8, '0') }
  }
}

export function createHasher(algorithm: DigestAlgorithm): Hasher {
  return algorithm === 'crc32' ? new Crc32Hasher() : new CryptoHasher(algorithm)
}

export function sha256Hex(chunks: Iterable<Uint8Array>): string {
  const hash = createHash('sha256')
  for (const chunk of chunks) hash.update(chunk)
  return hash.digest('hex')
}
