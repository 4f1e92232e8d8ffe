import { DamselflyError } from '../protocol/damselfly-error.js'

/** What a manifest URL names: a registry, a repository in it, and a tag or digest. */
export interface ManifestReference {
  /** The registry's origin, `https://reg.example`. */
  readonly registry: URL
  /** `library/alpine` */
  readonly repository: string
  /** A tag (`3.19`) or a digest (`sha256:<hex>`). */
  readonly reference: string
}

const SHAPE = '<http|https>://<host>/v2/<name>/manifests/<tag or digest>'
/** The distribution spec's repository name: lowercase path components joined by `/`. */
const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/
const MANIFEST_PATH = /^\/v2\/(.+)\/manifests\/([^/]+)$/

/**
 * Reads `<scheme>://<host>/v2/<name>/manifests/<reference>`; INVALID_ARGUMENT naming that shape
 * for anything else, for a URL carrying a username or password, and for a query or fragment.
 */
export function parseManifestUrl(text: string): ManifestReference {
  let url: URL
  try {
    url = new URL(text)
  } catch (cause) {
    // The text is not echoed: it may hold a password in a form URL parsing rejected.
    throw invalid('not a URL', cause)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid(`scheme ${url.protocol} is not http or https`)
  // Credentials in a URL end up in logs and task ids; they have fields of their own.
  if (url.username !== '' || url.password !== '') throw invalid('credentials belong in username and password, not in the URL')
  if (url.search !== '' || url.hash !== '') throw invalid(`${url.origin}${url.pathname} has a query or fragment`)
  const match = MANIFEST_PATH.exec(url.pathname)
  const repository = match?.[1]
  const reference = match?.[2]
  if (repository === undefined || reference === undefined) throw invalid(`path ${url.pathname} is not /v2/<name>/manifests/<reference>`)
  if (!NAME.test(repository)) throw invalid(`repository name ${JSON.stringify(repository)} is not a valid name`)
  if (!TAG.test(reference) && !DIGEST.test(reference)) throw invalid(`reference ${JSON.stringify(reference)} is neither a tag nor a digest`)
  return { registry: new URL(url.origin), repository, reference }
}

const REGISTRY_PATH = /^\/v2\/(.+)\/(?:manifests|blobs)\/[^/]+$/

/** The repository a registry API URL names (`/v2/<name>/blobs/...` or `/manifests/...`); undefined for any other URL. */
export function registryRepository(url: URL): string | undefined {
  const name = REGISTRY_PATH.exec(url.pathname)?.[1]
  return name !== undefined && NAME.test(name) ? name : undefined
}

export function isDigestReference(reference: string): boolean {
  return reference.includes(':')
}

function invalid(why: string, cause?: unknown): DamselflyError {
  return new DamselflyError('INVALID_ARGUMENT', `manifest URL must look like ${SHAPE}: ${why}`, cause === undefined ? {} : { cause })
}
