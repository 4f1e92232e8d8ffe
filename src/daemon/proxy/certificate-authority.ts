import 'reflect-metadata'
import { randomBytes, webcrypto, type webcrypto as WebCrypto } from 'node:crypto'
import { isIP } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(webcrypto)

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const
const DAY_MS = 86_400_000

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`
}

function serialNumber(): string {
  // Positive, 16 bytes: unique enough that browsers and Go never see two certs with one serial.
  return `01${randomBytes(15).toString('hex')}`
}

/** A new certificate authority for TLS interception: a self-signed ECDSA P-256 certificate and its key, in PEM. */
export async function createCertificateAuthority(init: { commonName: string; validDays: number }): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${init.commonName}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + init.validDays * DAY_MS),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  })
  return { certPem: cert.toString('pem'), keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)) }
}

/**
 * Leaf certificates for intercepted hosts, signed by the operator's CA and made on first use
 * (a few milliseconds each), then kept for the life of the process.
 */
export class LeafCertificates {
  private readonly contexts = new Map<string, Promise<SecureContext>>()
  private caPromise: Promise<{ cert: x509.X509Certificate; key: WebCrypto.CryptoKey }> | undefined

  constructor(private readonly init: { caCertPem: string; caKeyPem: string }) {}

  contextFor(hostname: string): Promise<SecureContext> {
    let context = this.contexts.get(hostname)
    if (context === undefined) {
      context = this.issue(hostname)
      this.contexts.set(hostname, context)
      context.catch(() => this.contexts.delete(hostname))
    }
    return context
  }

  private loadCa(): Promise<{ cert: x509.X509Certificate; key: WebCrypto.CryptoKey }> {
    this.caPromise ??= (async () => {
      const cert = new x509.X509Certificate(this.init.caCertPem)
      const der = Buffer.from(this.init.caKeyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
      const key = await webcrypto.subtle.importKey('pkcs8', der, ALGORITHM, false, ['sign'])
      return { cert, key }
    })()
    return this.caPromise
  }

  private async issue(hostname: string): Promise<SecureContext> {
    const ca = await this.loadCa()
    const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serialNumber(),
      subject: `CN=${hostname}`,
      issuer: ca.cert.subject,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + 365 * DAY_MS),
      signingAlgorithm: ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: ca.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: isIP(hostname) === 0 ? 'dns' : 'ip', value: hostname }]),
      ],
    })
    return createSecureContext({
      cert: `${cert.toString('pem')}\n${ca.cert.toString('pem')}`,
      key: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    })
  }
}
