import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { z } from 'zod'
import { run } from './processes.js'
import { requireCommand } from './require-command.js'

const GENERATOR = join(import.meta.dirname, 'gen-oci-image.sh')
const DIGEST = z.string().regex(/^sha256:[0-9a-f]{64}$/)
const DESCRIPTOR = z.object({ mediaType: z.string(), digest: DIGEST, size: z.number().int().nonnegative() })
const INDEX = z.object({ manifests: z.array(DESCRIPTOR.extend({ annotations: z.record(z.string(), z.string()).optional() })) })
const MANIFEST = z.object({ mediaType: z.string(), config: DESCRIPTOR, layers: z.array(DESCRIPTOR) })

/** An OCI descriptor, with the spec's field names. */
export interface BlobDescriptor {
  readonly mediaType: string
  /** `sha256:<hex>` */
  readonly digest: string
  /** Bytes of the blob as stored and served (compressed for gzip layers). */
  readonly size: number
}

/** An OCI image layout on disk holding one single-platform image manifest under one tag. */
export interface OciImage {
  readonly layoutDir: string
  readonly tag: string
  /** `sha256:<hex>` of the manifest bytes; a registry's Docker-Content-Digest after a skopeo push. */
  readonly manifestDigest: string
  readonly manifestMediaType: string
  readonly configDigest: string
  readonly config: BlobDescriptor
  /** The gzip layers, in manifest order. */
  readonly layers: readonly BlobDescriptor[]
  /** Path of a blob (manifest, config or layer) inside the layout. */
  blobPath(digest: string): string
}

/**
 * Writes an OCI image layout to `dir` (which must not exist or be empty) with one gzip layer of
 * random files per entry of `layerSizesMiB` (whole MiB), via gen-oci-image.sh. Content is random,
 * so each call gives new digests. About 1 s for 1 + 5 + 20 MiB.
 */
export async function generateImage(dir: string, tag: string, layerSizesMiB: readonly number[]): Promise<OciImage> {
  for (const command of ['tar', 'gzip', 'sha256sum']) requireCommand(command, command === 'sha256sum' ? 'coreutils' : command)
  if (layerSizesMiB.length === 0 || !layerSizesMiB.every((size) => Number.isInteger(size) && size > 0)) {
    throw new Error(`layer sizes must be positive whole MiB, got [${layerSizesMiB.join(', ')}]`)
  }
  // The generator starts with `rm -rf dir`; refuse to wipe anything a caller kept there.
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} is not empty; give generateImage a fresh directory`)
  const result = await run('bash', [GENERATOR, dir, tag, ...layerSizesMiB.map(String)], { timeoutMs: 120_000 })
  if (result.code !== 0) throw new Error(`gen-oci-image.sh failed (${result.code}): ${result.stderr.slice(-2000)}`)
  return readImage(dir, tag)
}

/** Reads the manifest tagged `tag` from an existing OCI layout. */
export function readImage(layoutDir: string, tag: string): OciImage {
  const blobPath = (digest: string): string => join(layoutDir, 'blobs', 'sha256', DIGEST.parse(digest).slice('sha256:'.length))
  const index = INDEX.parse(JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')))
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)
  if (entry === undefined) throw new Error(`${layoutDir} has no manifest tagged ${tag}`)
  const manifest = MANIFEST.parse(JSON.parse(readFileSync(blobPath(entry.digest), 'utf8')))
  return {
    layoutDir,
    tag,
    manifestDigest: entry.digest,
    manifestMediaType: manifest.mediaType,
    configDigest: manifest.config.digest,
    config: manifest.config,
    layers: manifest.layers,
    blobPath,
  }
}

export interface RegistryCredentials {
  readonly user: string
  readonly password: string
}

/**
 * Pushes `oci:<layoutDir>:<tag>` to `docker://<registryHost>/<repo>:<tag>` with skopeo. Gzip layers
 * and the manifest arrive byte-identical, so the digests stay those of the layout. Without `caPath`
 * TLS is not verified (plain HTTP works); with it, that PEM is trusted. Safe to repeat.
 */
export async function pushImage(
  layoutDir: string,
  tag: string,
  registryHost: string,
  repo: string,
  creds?: RegistryCredentials,
  options: { readonly caPath?: string; readonly timeoutMs?: number; readonly all?: boolean } = {},
): Promise<void> {
  requireCommand('skopeo', 'skopeo')
  // skopeo wants a directory holding ca.crt, not a file.
  const certDir = options.caPath === undefined ? undefined : mkdtempSync(join(tmpdir(), 'damselfly-skopeo-certs-'))
  try {
    if (certDir !== undefined && options.caPath !== undefined) copyFileSync(options.caPath, join(certDir, 'ca.crt'))
    const args = [
      '--insecure-policy',
      'copy',
      '--quiet',
      ...(options.all === true ? ['--all'] : []),
      ...(certDir === undefined ? ['--dest-tls-verify=false'] : ['--dest-cert-dir', certDir]),
      ...(creds === undefined ? ['--dest-no-creds'] : ['--dest-creds', `${creds.user}:${creds.password}`]),
      `oci:${layoutDir}:${tag}`,
      `docker://${registryHost}/${repo}:${tag}`,
    ]
    const result = await run('skopeo', args, { timeoutMs: options.timeoutMs ?? 120_000 })
    if (result.code !== 0) throw new Error(`skopeo copy to ${registryHost}/${repo}:${tag} failed (${result.code}): ${result.stderr.slice(-2000)}`)
  } finally {
    if (certDir !== undefined) rmSync(certDir, { recursive: true, force: true })
  }
}

/** A multi-platform image: an OCI image index naming one manifest per platform. */
export interface OciIndexImage {
  readonly layoutDir: string
  readonly tag: string
  readonly indexDigest: string
  readonly platforms: ReadonlyArray<{ readonly architecture: string; readonly manifestDigest: string; readonly layers: readonly BlobDescriptor[] }>
}

function writeBlob(layoutDir: string, bytes: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(bytes).digest('hex')
  writeFileSync(join(layoutDir, 'blobs', 'sha256', hex), bytes)
  return { digest: `sha256:${hex}`, size: bytes.length }
}

/**
 * Generates an image per platform (each with its own random layers and a config naming the
 * architecture) and an OCI image index over them, in one layout tagged `tag`. Push it with
 * `pushImage(..., { all: true })`.
 */
export async function generateIndexImage(dir: string, tag: string, platforms: ReadonlyArray<{ architecture: string; layerSizesMiB: readonly number[] }>): Promise<OciIndexImage> {
  const layoutDir = join(dir, 'layout')
  mkdirSync(join(layoutDir, 'blobs', 'sha256'), { recursive: true })
  const entries: Array<{ architecture: string; manifestDigest: string; manifestSize: number; layers: readonly BlobDescriptor[] }> = []
  for (const { architecture, layerSizesMiB } of platforms) {
    const single = await generateImage(join(dir, architecture), tag, layerSizesMiB)
    for (const layer of single.layers) copyFileSync(single.blobPath(layer.digest), join(layoutDir, 'blobs', 'sha256', layer.digest.slice('sha256:'.length)))
    const config = JSON.parse(readFileSync(single.blobPath(single.configDigest), 'utf8')) as Record<string, unknown>
    const configBlob = writeBlob(layoutDir, Buffer.from(JSON.stringify({ ...config, architecture })))
    const manifest = JSON.parse(readFileSync(single.blobPath(single.manifestDigest), 'utf8')) as Record<string, unknown>
    const manifestBlob = writeBlob(layoutDir, Buffer.from(JSON.stringify({ ...manifest, config: { ...single.config, digest: configBlob.digest, size: configBlob.size } })))
    entries.push({ architecture, manifestDigest: manifestBlob.digest, manifestSize: manifestBlob.size, layers: single.layers })
  }
  const index = writeBlob(layoutDir, Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries.map((entry) => ({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: entry.manifestDigest,
      size: entry.manifestSize,
      platform: { architecture: entry.architecture, os: 'linux' },
    })),
  })))
  writeFileSync(join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}')
  writeFileSync(join(layoutDir, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: index.digest, size: index.size, annotations: { 'org.opencontainers.image.ref.name': tag } }],
  }))
  return { layoutDir, tag, indexDigest: index.digest, platforms: entries.map(({ architecture, manifestDigest, layers }) => ({ architecture, manifestDigest, layers })) }
}
