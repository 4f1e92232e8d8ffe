import { isIP } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import { generateKeyPair, loadCaSigner, privateKeyPem, signLeaf, x509, type CaSigner } from '../../security/x509.js'

const LEAF_VALID_DAYS = 365

/**
 * Leaf certificates for intercepted hosts, signed by the operator's CA and made on first use
 * (a few milliseconds each), then kept for the life of the process.
 */
export class LeafCertificates {
  private readonly contexts = new Map<string, Promise<SecureContext>>()
  private caPromise: Promise<CaSigner> | undefined

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

  private async issue(hostname: string): Promise<SecureContext> {
    this.caPromise ??= loadCaSigner(this.init.caCertPem, this.init.caKeyPem)
    const ca = await this.caPromise
    const keys = await generateKeyPair()
    const certPem = await signLeaf(ca, {
      subject: `CN=${hostname}`,
      publicKey: keys.publicKey,
      validDays: LEAF_VALID_DAYS,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: isIP(hostname) === 0 ? 'dns' : 'ip', value: hostname }]),
      ],
    })
    return createSecureContext({ cert: `${certPem}\n${ca.certPem}`, key: await privateKeyPem(keys.privateKey) })
  }
}
