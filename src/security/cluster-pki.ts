import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { certificatePin, createCertificateAuthority, fromPem, loadCaSigner, type CaSigner } from './x509.js'

export const PKI_FILES = { caCert: 'ca.crt', caKey: 'ca.key', tokens: 'join-tokens' } as const
const CA_VALID_DAYS = 3650

/** The cluster PKI when nobody says: beside the daemon's data for root, under the home directory otherwise. */
export function defaultPkiDir(): string {
  return process.getuid?.() === 0 ? '/var/lib/damselfly/pki' : join(homedir(), '.damselfly', 'pki')
}

/**
 * A cluster's certificate authority on disk: `ca.crt`, `ca.key` (0600) and the join tokens, in a
 * 0700 directory. Whoever reads `ca.key` can mint any identity: keep it on the schedulers only.
 */
export interface ClusterPki {
  readonly dir: string
  readonly signer: CaSigner
  /** What a join token carries to check the CA before trusting it: base64url sha256 of its DER. */
  readonly pin: string
}

/** Creates the CA in `dir` unless one is there; says which happened. */
export async function initClusterPki(dir: string, init: { commonName?: string } = {}): Promise<{ pki: ClusterPki; created: boolean }> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  const existing = await readOptional(join(dir, PKI_FILES.caCert))
  if (existing !== undefined) return { pki: await loadClusterPki(dir), created: false }
  const { certPem, keyPem } = await createCertificateAuthority({ commonName: init.commonName ?? 'Damselfly Cluster CA', validDays: CA_VALID_DAYS })
  // The key first and exclusively: two processes racing to create a CA must not end with a mixed pair.
  try {
    await writeFile(join(dir, PKI_FILES.caKey), keyPem, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return { pki: await waitForCa(dir), created: false }
    throw error
  }
  await writeFile(join(dir, PKI_FILES.caCert), certPem, { mode: 0o644 })
  return { pki: await loadClusterPki(dir), created: true }
}

async function waitForCa(dir: string): Promise<ClusterPki> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if ((await readOptional(join(dir, PKI_FILES.caCert))) !== undefined) return loadClusterPki(dir)
    await new Promise((done) => setTimeout(done, 20))
  }
  throw new DamselflyError('CONFIG_INVALID', `${dir} holds ${PKI_FILES.caKey} without ${PKI_FILES.caCert}; remove the directory and start again`)
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new DamselflyError('CONFIG_INVALID', `cannot read ${path}: ${(error as Error).message}`, { cause: error })
  }
}

/** Loads the CA in `dir`; CONFIG_INVALID naming the missing or broken file. */
export async function loadClusterPki(dir: string): Promise<ClusterPki> {
  const [certPem, keyPem] = await Promise.all([readOptional(join(dir, PKI_FILES.caCert)), readOptional(join(dir, PKI_FILES.caKey))])
  if (certPem === undefined || keyPem === undefined) {
    throw new DamselflyError('CONFIG_INVALID', `no cluster CA in ${dir} (needs ${PKI_FILES.caCert} and ${PKI_FILES.caKey}); create one with: damselfly pki init --dir ${dir}`)
  }
  try {
    const signer = await loadCaSigner(certPem, keyPem)
    return { dir, signer, pin: certificatePin(fromPem(signer.certPem)) }
  } catch (cause) {
    throw new DamselflyError('CONFIG_INVALID', `the cluster CA in ${dir} is unusable: ${(cause as Error).message}`, { cause })
  }
}
