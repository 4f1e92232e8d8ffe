import { createPrivateKey, type KeyObject, type X509Certificate } from 'node:crypto'
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { generateHostKey, identityOf, issueHostCertificate, parseCertificate, type HostIdentity, type Role } from './identity.js'
import { leafProblem, toPem, type CaSigner } from './x509.js'

export const IDENTITY_FILES = { ca: 'ca.crt', cert: 'host.crt', key: 'host.key' } as const

/**
 * This process's own identity: its key, its certificate from the cluster CA, and the CA it
 * trusts. Everything TLS and capability signing need.
 */
export interface LocalIdentity {
  readonly identity: HostIdentity
  readonly caPem: string
  readonly certPem: string
  readonly keyPem: string
  readonly caCert: X509Certificate
  readonly cert: X509Certificate
  readonly privateKey: KeyObject
}

/** Checks that the pieces belong together and are valid now; CONFIG_INVALID naming `where` otherwise. */
export function assembleIdentity(files: { caPem: string; certPem: string; keyPem: string }, where: string, nowMs = Date.now()): LocalIdentity {
  const invalid = (problem: string): DamselflyError => new DamselflyError('CONFIG_INVALID', `the identity in ${where} is unusable: ${problem}`)
  const caCert = parseCertificate(files.caPem, `${where}/${IDENTITY_FILES.ca}`)
  const cert = parseCertificate(files.certPem, `${where}/${IDENTITY_FILES.cert}`)
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(files.keyPem)
  } catch (cause) {
    throw invalid(`${IDENTITY_FILES.key} is not a private key (${(cause as Error).message})`)
  }
  const problem = leafProblem(cert, caCert, nowMs)
  if (problem !== undefined) throw invalid(`${IDENTITY_FILES.cert}: ${problem}`)
  if (!cert.checkPrivateKey(privateKey)) throw invalid(`${IDENTITY_FILES.key} does not belong to ${IDENTITY_FILES.cert}`)
  const identity = identityOf(cert)
  if (identity === undefined) throw invalid(`${IDENTITY_FILES.cert} carries no Damselfly identity`)
  // Chains are made by concatenating PEM blocks: each must end its own line.
  const line = (pem: string): string => (pem.endsWith('\n') ? pem : `${pem}\n`)
  return { identity, caPem: line(files.caPem), certPem: line(files.certPem), keyPem: line(files.keyPem), caCert, cert, privateKey }
}

/** Reads the identity in `dir`; undefined when there is none yet; CONFIG_INVALID when it is broken. */
export async function readIdentity(dir: string, nowMs = Date.now()): Promise<LocalIdentity | undefined> {
  const read = (name: string): Promise<string | undefined> =>
    readFile(join(dir, name), 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new DamselflyError('CONFIG_INVALID', `cannot read ${join(dir, name)}: ${(error as Error).message}`, { cause: error })
    })
  const [caPem, certPem, keyPem] = await Promise.all([read(IDENTITY_FILES.ca), read(IDENTITY_FILES.cert), read(IDENTITY_FILES.key)])
  if (certPem === undefined && keyPem === undefined) return undefined
  if (caPem === undefined || certPem === undefined || keyPem === undefined) {
    throw new DamselflyError('CONFIG_INVALID', `the identity in ${dir} is incomplete: it needs ${Object.values(IDENTITY_FILES).join(', ')}`)
  }
  return assembleIdentity({ caPem, certPem, keyPem }, dir, nowMs)
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`
  await writeFile(temp, text, { mode })
  await chmod(temp, mode)
  await rename(temp, path)
}

/** Writes an identity to `dir` (0700): the key 0600, certificates 0644. Replaces what was there. */
export async function writeIdentity(dir: string, identity: Pick<LocalIdentity, 'caPem' | 'certPem' | 'keyPem'>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  await writeAtomically(join(dir, IDENTITY_FILES.key), identity.keyPem, 0o600)
  await writeAtomically(join(dir, IDENTITY_FILES.cert), identity.certPem, 0o644)
  await writeAtomically(join(dir, IDENTITY_FILES.ca), identity.caPem, 0o644)
}

/** Makes a key and has the CA certify it at once: for a process that holds the CA itself (a scheduler, `damselfly up`). */
export async function issueLocalIdentity(ca: CaSigner, request: { role: Role; hostname: string; ips: readonly string[]; validDays?: number }): Promise<LocalIdentity> {
  const { privateKey, publicKeySpki } = generateHostKey()
  const { certPem } = await issueHostCertificate(ca, { ...request, publicKeySpki })
  const keyPem = toPem('PRIVATE KEY', privateKey.export({ type: 'pkcs8', format: 'der' }))
  return assembleIdentity({ caPem: ca.certPem, certPem, keyPem }, 'memory')
}
