import { STATUS_CODES } from 'node:http'
import type { Dispatcher } from 'undici'
import type { Clock } from '../common/clock.js'
import { silentLogger, type Logger } from '../common/logger.js'
import { VERSION } from '../common/version.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { createHasher, formatDigest, parseDigest } from '../protocol/digest.js'
import type { RegistryCredentials } from './basic-credentials.js'
import { headerValue, originHeaders } from './http-headers.js'
import { MANIFEST_ACCEPT, parseManifest, type ContentDescriptor, type IndexEntry, type ParsedManifest } from './image-manifest.js'
import { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformMatches, type ImagePlatform } from './image-platform.js'
import { isDigestReference, parseManifestUrl, type ManifestReference } from './manifest-url.js'
import { describeAccess, RegistryAuthorizer } from './registry-authorizer.js'
import { registryGet } from './registry-request.js'
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.js'

/** Collaborators of an {@link ImageResolver}. */
export interface ImageResolverComponents {
  /** Every request to registries and token services goes through it (bind it to an address policy). */
  readonly dispatcher: Dispatcher
  readonly clock: Clock
  readonly logger?: Logger
}

/** The slice of configuration an {@link ImageResolver} needs. */
export interface ImageResolverInit {
  /** Registry tokens kept at most (see {@link RegistryAuthorizer}). */
  readonly tokenCacheSize: number
  /** A longer manifest fails with INVALID_ARGUMENT; 4 MiB unless set, as distribution's own limit. */
  readonly maxManifestBytes?: number
  readonly userAgent?: string
}

/** An image to resolve, as a preheat job names it. */
export interface ResolveImageRequest {
  /** `<http|https>://<host>/v2/<name>/manifests/<tag or digest>` */
  readonly manifestUrl: string
  /** Sent with every manifest request; an `Authorization` among them is tried first (see {@link RegistryAuthorizer.authorize}). */
  readonly headers?: Readonly<Record<string, string>> | undefined
  /** Both or neither: the account to get a token with (or to send as Basic). */
  readonly username?: string | undefined
  readonly password?: string | undefined
  /** `os/arch[/variant]` picked from an index; `linux/amd64` when absent or empty. */
  readonly platform?: string | undefined
  /** The deadline: its abort ends every request, a `TimeoutError` reason reads as SOURCE_TIMEOUT. */
  readonly signal: AbortSignal
}

/** A blob to fetch: `url` is `<registry>/v2/<repository>/blobs/<digest>`, the shape whose task id is the digest's. */
export interface ImageBlob {
  readonly digest: string
  readonly sizeBytes: number
  readonly mediaType: string
  readonly url: string
}

/** What an image is made of, and how to fetch it. */
export interface ResolvedImage {
  /** The registry's origin, `https://reg.example`. */
  readonly registry: string
  readonly repository: string
  /** The tag or digest the URL named. */
  readonly reference: string
  /** The digest of the image manifest whose blobs are listed (for an index, the platform's manifest). */
  readonly manifestDigest: string
  /** The digest of the index the reference named; undefined when it named an image manifest. */
  readonly indexDigest: string | undefined
  /** The index entry's platform; undefined for an image manifest, whose platform is not checked. */
  readonly platform: string | undefined
  /** The `Authorization` value downloads send to the registry; undefined when it lets anyone pull. */
  readonly authorization: string | undefined
  /** The config first, then every layer in manifest order. */
  readonly blobs: readonly ImageBlob[]
}

const DEFAULT_MAX_MANIFEST_BYTES = 4 * 1024 * 1024

/**
 * Resolves an image as a container runtime would, for preheating: authorizes with the registry
 * (see {@link RegistryAuthorizer}), fetches the manifest accepting every type, picks the
 * platform from an index and fetches that manifest by digest, checking its bytes against the
 * digest. Safe to call concurrently and to repeat; tokens are cached between calls.
 */
export class ImageResolver {
  private readonly authorizer: RegistryAuthorizer
  private readonly logger: Logger
  private readonly userAgent: string
  private readonly maxManifestBytes: number

  constructor(private readonly components: ImageResolverComponents, init: ImageResolverInit) {
    this.logger = (components.logger ?? silentLogger()).child({ component: 'image-resolver' })
    this.userAgent = init.userAgent ?? `damselfly/${VERSION}`
    this.maxManifestBytes = init.maxManifestBytes ?? DEFAULT_MAX_MANIFEST_BYTES
    this.authorizer = new RegistryAuthorizer(
      { dispatcher: components.dispatcher, clock: components.clock, logger: this.logger },
      { tokenCacheSize: init.tokenCacheSize, userAgent: this.userAgent },
    )
  }

  /**
   * The image's blobs, config first. Fails with INVALID_ARGUMENT (a URL not of the manifest
   * shape, a bad platform or one the index lacks, schema 1 or another unsupported manifest, a
   * manifest over the size cap), SOURCE_STATUS with details.sourceStatus (401 refused
   * credentials, 404 unknown manifest), DIGEST_MISMATCH, SOURCE_UNREACHABLE, SOURCE_TIMEOUT or
   * CANCELLED. Messages are one line naming the registry and repository, never a secret.
   */
  async resolveImage(request: ResolveImageRequest): Promise<ResolvedImage> {
    const reference = parseManifestUrl(request.manifestUrl)
    const wanted = request.platform === undefined || request.platform.trim() === '' ? DEFAULT_PLATFORM : parsePlatform(request.platform)
    const credentials = credentialsOf(request)
    const subject = describeAccess(reference)
    const callerHeaders = request.headers ?? {}
    const callerAuthorization = Object.entries(callerHeaders).find(([name]) => name.toLowerCase() === 'authorization')?.[1]
    const access = { registry: reference.registry, repository: reference.repository, credentials, signal: request.signal }
    const headers = originHeaders(
      Object.fromEntries(Object.entries(callerHeaders).filter(([name]) => !['authorization', 'accept'].includes(name.toLowerCase()))),
      { userAgent: this.userAgent },
    )

    let authorization = await this.authorizer.authorize({ ...access, authorization: callerAuthorization })
    const fetchTop = (): Promise<FetchedManifest | Refused> => this.fetchManifest(reference, reference.reference, headers, authorization, request.signal)
    let top = await fetchTop()
    // The ping may take a header the repository does not (a token of another scope, a revoked
    // one still cached): with an account, answer the manifest's own challenge once more.
    if ('refused' in top && credentials !== undefined && top.challenge !== undefined) {
      this.authorizer.forget(access)
      authorization = await this.authorizer.answerChallenge(top.challenge, access)
      top = await fetchTop()
    }
    if ('refused' in top) throw top.refused

    let image = top
    let entry: IndexEntry | undefined
    if (top.manifest.kind === 'index') {
      entry = choosePlatform(top.manifest.manifests, wanted, subject)
      const platformManifest = await this.fetchManifest(reference, entry.digest, headers, authorization, request.signal)
      if ('refused' in platformManifest) throw platformManifest.refused
      image = platformManifest
      if (image.manifest.kind === 'index') {
        throw new DamselflyError('INVALID_ARGUMENT', `${subject}: the ${formatPlatform(wanted)} entry of index ${top.digest} is itself an index, which is not supported`)
      }
    }
    if (image.manifest.kind !== 'image') throw new DamselflyError('INTERNAL', `${subject}: an index where an image manifest was expected`)
    const blobUrl = (blob: ContentDescriptor): ImageBlob => ({
      digest: blob.digest,
      sizeBytes: blob.sizeBytes,
      mediaType: blob.mediaType,
      url: `${reference.registry.origin}/v2/${reference.repository}/blobs/${blob.digest}`,
    })
    const resolved: ResolvedImage = {
      registry: reference.registry.origin,
      repository: reference.repository,
      reference: reference.reference,
      manifestDigest: image.digest,
      indexDigest: entry === undefined ? undefined : top.digest,
      platform: entry?.platform === undefined ? undefined : formatPlatform(entry.platform),
      authorization,
      blobs: [image.manifest.config, ...image.manifest.layers].map(blobUrl),
    }
    this.logger.info({ registry: resolved.registry, repository: resolved.repository, reference: resolved.reference, manifestDigest: resolved.manifestDigest, blobs: resolved.blobs.length }, 'image resolved')
    return resolved
  }

  /** GETs a manifest; by digest, its bytes must hash to it. A 401 is returned with its challenge, to be answered. */
  private async fetchManifest(
    image: ManifestReference,
    reference: string,
    headers: Readonly<Record<string, string>>,
    authorization: string | undefined,
    signal: AbortSignal,
  ): Promise<FetchedManifest | Refused> {
    const subject = describeAccess(image)
    const url = new URL(`/v2/${image.repository}/manifests/${reference}`, image.registry)
    const answer = await registryGet(this.components.dispatcher, {
      url,
      headers: { ...headers, accept: MANIFEST_ACCEPT, ...(authorization === undefined ? {} : { authorization }) },
      signal,
      maxBodyBytes: this.maxManifestBytes,
      subject: `${subject}, manifest ${reference}`,
    })
    if (answer.statusCode < 200 || answer.statusCode > 299) {
      const status = `${answer.statusCode} ${STATUS_CODES[answer.statusCode] ?? 'Unknown Status'}`
      const what = answer.statusCode === 404
        ? `the registry has no manifest ${reference} (${status})`
        : answer.statusCode === 401 || answer.statusCode === 403
          ? `the registry refused access to manifest ${reference} (${status})`
          : `the registry answered ${status} for manifest ${reference}`
      const refused = new DamselflyError('SOURCE_STATUS', `${subject}: ${what}`, { details: { sourceStatus: answer.statusCode } })
      if (answer.statusCode === 401) return { refused, challenge: parseWwwAuthenticate(answer.headers['www-authenticate']) }
      throw refused
    }
    const digest = verifiedDigest(answer.body, reference, subject)
    return { digest, manifest: parseManifest(answer.body, headerValue(answer.headers, 'content-type'), `${subject}, manifest ${reference}`) }
  }
}

interface FetchedManifest {
  readonly digest: string
  readonly manifest: ParsedManifest
}

/** A manifest request the registry answered 401, with the challenge it sent. */
interface Refused {
  readonly refused: DamselflyError
  readonly challenge: AuthChallenge | undefined
}

function credentialsOf(request: ResolveImageRequest): RegistryCredentials | undefined {
  const { username, password } = request
  const given = (value: string | undefined): value is string => value !== undefined && value !== ''
  if (!given(username) && !given(password)) return undefined
  if (!given(username) || password === undefined) {
    throw new DamselflyError('INVALID_ARGUMENT', 'username and password go together: give both or neither')
  }
  return { username, password }
}

/**
 * The manifest's digest: sha256 of its bytes for a tag; for a digest reference, that digest once
 * the bytes are checked against it (DIGEST_MISMATCH otherwise).
 */
export function verifiedDigest(body: Buffer, reference: string, subject: string): string {
  if (!isDigestReference(reference)) {
    const hasher = createHasher('sha256')
    hasher.update(body)
    return formatDigest(hasher.digest())
  }
  const expected = parseDigest(reference)
  if (expected.algorithm === 'crc32') throw new DamselflyError('INVALID_ARGUMENT', `${subject}: manifest ${reference} is addressed by crc32, which registries do not use`)
  const hasher = createHasher(expected.algorithm)
  hasher.update(body)
  const actual = hasher.digest()
  if (actual.hex !== expected.hex) {
    throw new DamselflyError('DIGEST_MISMATCH', `${subject}: the registry answered manifest ${reference} with bytes whose digest is ${formatDigest(actual)}`)
  }
  return formatDigest(expected)
}

/**
 * The index entry for `wanted`: the first whose platform matches (see {@link platformMatches}).
 * INVALID_ARGUMENT naming the platforms the index has when none does.
 */
export function choosePlatform(entries: readonly IndexEntry[], wanted: ImagePlatform, subject: string): IndexEntry {
  const found = entries.find((entry) => entry.platform !== undefined && platformMatches(wanted, entry.platform))
  if (found !== undefined) return found
  // Attestations and signatures ride in indexes as unknown/unknown; they are no platform to offer.
  const available = [...new Set(entries.flatMap((entry) => entry.platform === undefined || entry.platform.os === 'unknown' ? [] : [formatPlatform(entry.platform)]))]
  throw new DamselflyError('INVALID_ARGUMENT', `${subject}: the image has no ${formatPlatform(wanted)} manifest (available: ${available.length === 0 ? 'none' : available.join(', ')})`)
}
