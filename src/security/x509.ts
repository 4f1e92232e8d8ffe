import type { X509Certificate } from 'node:crypto'
import { createHash, randomBytes, webcrypto, type webcrypto as WebCrypto } from 'node:crypto'
import type * as X509 from '@peculiar/x509'
import { DamselflyError } from '../protocol/damselfly-error.js'

/** The certificate-making library, loaded on first use: only a CA or TLS interception needs it, and it costs about 18 MiB of memory. */
export type X509Module = typeof X509

/** Loads the certificate-making library (and the metadata polyfill it needs first), set to Node's WebCrypto. */
export async function loadX509(): Promise<X509Module> {
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  x509.cryptoProvider.set(webcrypto)
  return x509
}

/** Every key Damselfly makes: ECDSA on P-256, which keeps handshakes and signatures cheap. */
export const EC_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
export const DAY_MS = 86_400_000
/** Certificates start this long in the past, so a host whose clock lags a little accepts them. */
export const BACKDATE_MS = 3_600_000

export function toPem(label: 'CERTIFICATE' | 'PRIVATE KEY' | 'PUBLIC KEY', der: ArrayBuffer | Uint8Array): string {
  const body = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
}

/** The DER inside the first PEM block of `pem`. */
export function fromPem(pem: string): Buffer {
  const match = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END [A-Z ]+-----/.exec(pem)
  if (match?.[1] === undefined) throw new DamselflyError('INVALID_ARGUMENT', 'not a PEM block')
  return Buffer.from(match[1].replace(/\s+/g, ''), 'base64')
}

/** Positive, 16 bytes: unique enough that no verifier ever sees two certificates with one serial. */
export function serialNumber(): string {
  return `01${randomBytes(15).toString('hex')}`
}

export function generateKeyPair(): Promise<WebCrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_ALGORITHM, true, ['sign', 'verify'])
}

export async function privateKeyPem(key: WebCrypto.CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key))
}

/** Validity of a certificate made now for `validDays`. */
export function validity(nowMs: number, validDays: number): { notBefore: Date; notAfter: Date } {
  return { notBefore: new Date(nowMs - BACKDATE_MS), notAfter: new Date(nowMs + validDays * DAY_MS) }
}

/** A self-signed ECDSA P-256 certificate authority that may sign leaf certificates only, in PEM. */
export async function createCertificateAuthority(init: { commonName: string; validDays: number; nowMs?: number }): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509()
  const keys = await generateKeyPair()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${init.commonName}`,
    ...validity(init.nowMs ?? Date.now(), init.validDays),
    signingAlgorithm: EC_ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) }
}

/** A certificate authority able to sign: its certificate and its private key. */
export interface CaSigner {
  readonly cert: X509.X509Certificate
  readonly certPem: string
  readonly key: WebCrypto.CryptoKey
}

export async function loadCaSigner(certPem: string, keyPem: string): Promise<CaSigner> {
  const x509 = await loadX509()
  const cert = new x509.X509Certificate(certPem)
  const key = await webcrypto.subtle.importKey('pkcs8', fromPem(keyPem), EC_ALGORITHM, false, ['sign'])
  return { cert, certPem: cert.toString('pem'), key }
}

/** Signs a leaf certificate for `publicKey` with the CA. */
export async function signLeaf(
  ca: CaSigner,
  leaf: { subject: string; publicKey: WebCrypto.CryptoKey; validDays: number; extensions: X509.Extension[]; nowMs?: number },
): Promise<string> {
  const x509 = await loadX509()
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: leaf.subject,
    issuer: ca.cert.subject,
    ...validity(leaf.nowMs ?? Date.now(), leaf.validDays),
    signingAlgorithm: EC_ALGORITHM,
    publicKey: leaf.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
      ...leaf.extensions,
    ],
  })
  return cert.toString('pem')
}

/** Imports a SubjectPublicKeyInfo (DER) that must be an ECDSA P-256 key; INVALID_ARGUMENT otherwise. */
export async function importEcPublicKey(spkiDer: Uint8Array): Promise<WebCrypto.CryptoKey> {
  try {
    return await webcrypto.subtle.importKey('spki', spkiDer, EC_ALGORITHM, true, ['verify'])
  } catch (cause) {
    throw new DamselflyError('INVALID_ARGUMENT', 'the public key must be an ECDSA P-256 SubjectPublicKeyInfo', { cause })
  }
}

/** Base64url of the sha256 of a certificate's DER: how a join token pins the cluster CA. */
export function certificatePin(certDer: Uint8Array): string {
  return createHash('sha256').update(certDer).digest('base64url')
}

/** Node's validity strings ("Nov 30 12:53:01 2027 GMT") as milliseconds. */
export function validityMs(cert: X509Certificate): { fromMs: number; toMs: number } {
  return { fromMs: Date.parse(cert.validFrom), toMs: Date.parse(cert.validTo) }
}

/**
 * Why `cert` is not a valid leaf of `ca` at `nowMs`, or undefined when it is. TLS checks this on
 * every handshake; this is for certificates that arrive some other way (inside a capability).
 */
export function leafProblem(cert: X509Certificate, ca: X509Certificate, nowMs: number): string | undefined {
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'it is not signed by the cluster CA'
  const { fromMs, toMs } = validityMs(cert)
  if (!(fromMs <= nowMs)) return 'it is not valid yet'
  if (!(nowMs <= toMs)) return 'it has expired'
  return undefined
}
