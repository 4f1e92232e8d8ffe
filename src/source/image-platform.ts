import { DamselflyError } from '../protocol/damselfly-error.js'

/** An image's platform as an OCI index names it: `linux/arm64/v8` is os, architecture, variant. */
export interface ImagePlatform {
  readonly os: string
  readonly architecture: string
  readonly variant?: string | undefined
}

/** What a container runtime on a common Linux server pulls when nobody says. */
export const DEFAULT_PLATFORM: ImagePlatform = { os: 'linux', architecture: 'amd64' }

const PART = /^[a-z0-9_.-]+$/i

/** Reads `os/arch[/variant]`; INVALID_ARGUMENT naming the expected shape for anything else. */
export function parsePlatform(text: string): ImagePlatform {
  const parts = text.trim().split('/')
  const [os, architecture, variant] = parts
  if (parts.length > 3 || os === undefined || architecture === undefined || !parts.every((part) => PART.test(part))) {
    throw new DamselflyError('INVALID_ARGUMENT', `platform must look like os/arch[/variant] (linux/amd64, linux/arm64/v8), got ${JSON.stringify(text)}`)
  }
  return { os: os.toLowerCase(), architecture: architecture.toLowerCase(), ...(variant === undefined ? {} : { variant: variant.toLowerCase() }) }
}

export function formatPlatform(platform: ImagePlatform): string {
  return [platform.os, platform.architecture, ...(platform.variant === undefined || platform.variant === '' ? [] : [platform.variant])].join('/')
}

/**
 * Whether an index entry's platform serves `wanted`: same os and architecture, and the same
 * variant when `wanted` names one. arm64 without a variant is arm64/v8, on either side, as
 * containerd normalises it.
 */
export function platformMatches(wanted: ImagePlatform, candidate: ImagePlatform): boolean {
  if (wanted.os !== candidate.os.toLowerCase() || wanted.architecture !== candidate.architecture.toLowerCase()) return false
  if (wanted.variant === undefined) return true
  return normalisedVariant(wanted) === normalisedVariant(candidate)
}

function normalisedVariant(platform: ImagePlatform): string {
  const variant = platform.variant?.toLowerCase() ?? ''
  return variant === '' && platform.architecture.toLowerCase() === 'arm64' ? 'v8' : variant
}
