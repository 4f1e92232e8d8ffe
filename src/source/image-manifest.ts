import { DamselflyError } from '../protocol/damselfly-error.js'
import { formatDigest, parseDigest } from '../protocol/digest.js'
import type { ImagePlatform } from './image-platform.js'

/** Every manifest type a registry may answer with; schema 1 only to refuse it clearly. */
export const MANIFEST_MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const

/** The Accept header of a manifest request: every type, schema 1 last. */
export const MANIFEST_ACCEPT = Object.values(MANIFEST_MEDIA_TYPES).join(', ')

const INDEX_TYPES: ReadonlySet<string> = new Set([MANIFEST_MEDIA_TYPES.ociIndex, MANIFEST_MEDIA_TYPES.dockerManifestList])
const IMAGE_TYPES: ReadonlySet<string> = new Set([MANIFEST_MEDIA_TYPES.ociManifest, MANIFEST_MEDIA_TYPES.dockerManifest])
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MANIFEST_MEDIA_TYPES.dockerSchema1, MANIFEST_MEDIA_TYPES.dockerSchema1Signed])

/** A blob or manifest a manifest points to. */
export interface ContentDescriptor {
  readonly mediaType: string
  /** `sha256:<hex>`, lowercase. */
  readonly digest: string
  readonly sizeBytes: number
}

/** A manifest an index lists; `platform` undefined when the entry names none. */
export interface IndexEntry extends ContentDescriptor {
  readonly platform: ImagePlatform | undefined
}

/** A manifest as this client uses it: an index of per-platform manifests, or one image. */
export type ParsedManifest =
  | { readonly kind: 'index'; readonly mediaType: string; readonly manifests: readonly IndexEntry[] }
  | { readonly kind: 'image'; readonly mediaType: string; readonly config: ContentDescriptor; readonly layers: readonly ContentDescriptor[] }

/**
 * Reads a manifest's bytes. Its type is the Content-Type when that names a manifest type, else
 * the body's own `mediaType`, else what its fields say (`manifests` for an index, `config` for an
 * image), as registries that answer `application/json` need. INVALID_ARGUMENT, with `subject`
 * first in the message, for schema 1, for JSON that is no manifest, and for a bad descriptor.
 */
export function parseManifest(body: Buffer, contentType: string | undefined, subject: string): ParsedManifest {
  const headerType = contentType?.split(';')[0]?.trim().toLowerCase() ?? ''
  if (SCHEMA1_TYPES.has(headerType)) throw schema1(subject)
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch (cause) {
    throw new DamselflyError('INVALID_ARGUMENT', `${subject}: the manifest is not JSON`, { cause })
  }
  if (!isRecord(value)) throw new DamselflyError('INVALID_ARGUMENT', `${subject}: the manifest is not a JSON object`)
  if (value['schemaVersion'] === 1) throw schema1(subject)
  const bodyType = typeof value['mediaType'] === 'string' ? value['mediaType'] : undefined
  const mediaType = [headerType, bodyType].find((type) => type !== undefined && (INDEX_TYPES.has(type) || IMAGE_TYPES.has(type) || SCHEMA1_TYPES.has(type)))
    ?? (Array.isArray(value['manifests']) ? MANIFEST_MEDIA_TYPES.ociIndex : isRecord(value['config']) ? MANIFEST_MEDIA_TYPES.ociManifest : undefined)
  if (mediaType === undefined) {
    throw new DamselflyError('INVALID_ARGUMENT', `${subject}: unsupported manifest type ${JSON.stringify(headerType || bodyType || 'none')}`)
  }
  if (SCHEMA1_TYPES.has(mediaType)) throw schema1(subject)
  if (INDEX_TYPES.has(mediaType)) {
    const manifests = value['manifests']
    if (!Array.isArray(manifests)) throw new DamselflyError('INVALID_ARGUMENT', `${subject}: the ${mediaType} has no manifests list`)
    return { kind: 'index', mediaType, manifests: manifests.map((entry, index) => indexEntry(entry, `${subject}: manifests[${index}]`)) }
  }
  const layers = value['layers']
  if (!Array.isArray(layers)) throw new DamselflyError('INVALID_ARGUMENT', `${subject}: the ${mediaType} has no layers list`)
  return {
    kind: 'image',
    mediaType,
    config: descriptor(value['config'], `${subject}: config`),
    layers: layers.map((layer, index) => descriptor(layer, `${subject}: layers[${index}]`)),
  }
}

function schema1(subject: string): DamselflyError {
  return new DamselflyError('INVALID_ARGUMENT', `${subject}: the manifest is Docker schema 1; schema 1 manifests are not supported`)
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function descriptor(value: unknown, where: string): ContentDescriptor {
  if (!isRecord(value)) throw new DamselflyError('INVALID_ARGUMENT', `${where} is not a descriptor object`)
  const { mediaType, digest, size } = value
  if (typeof mediaType !== 'string' || mediaType === '') throw new DamselflyError('INVALID_ARGUMENT', `${where} has no mediaType`)
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new DamselflyError('INVALID_ARGUMENT', `${where} has no valid size`)
  if (typeof digest !== 'string') throw new DamselflyError('INVALID_ARGUMENT', `${where} has no digest`)
  let parsed
  try {
    parsed = parseDigest(digest)
  } catch (cause) {
    throw new DamselflyError('INVALID_ARGUMENT', `${where} has an unusable digest: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  if (parsed.algorithm === 'crc32') throw new DamselflyError('INVALID_ARGUMENT', `${where} has a crc32 digest, which no registry addresses content by`)
  return { mediaType, digest: formatDigest(parsed), sizeBytes: size }
}

function indexEntry(value: unknown, where: string): IndexEntry {
  const base = descriptor(value, where)
  const platform = isRecord(value) ? value['platform'] : undefined
  if (!isRecord(platform) || typeof platform['os'] !== 'string' || typeof platform['architecture'] !== 'string') return { ...base, platform: undefined }
  const variant = typeof platform['variant'] === 'string' && platform['variant'] !== '' ? platform['variant'] : undefined
  return { ...base, platform: { os: platform['os'], architecture: platform['architecture'], ...(variant === undefined ? {} : { variant }) } }
}
