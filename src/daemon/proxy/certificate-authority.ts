import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { createSecureContext, type SecureContext } from 'node:tls'
import { LRUCache } from 'lru-cache'
import type { Clock } from '../../common/clock.js'
import { DAY_MS, generateKeyPair, loadCaSigner, loadX509, privateKeyPem, signLeaf, validityMs, type CaSigner } from '../../security/x509.js'

/** How long an interception leaf certificate is valid. */
export const LEAF_VALID_DAYS = 30
/** A leaf is replaced once it is this old: half its life, so it is renewed 15 days before it expires. */
export const LEAF_RENEW_AFTER_MS = (LEAF_VALID_DAYS * DAY_MS) / 2
/** Intercepted hosts whose leaf is kept at once; beyond it the least recently used one is dropped, and made again on its next use. */
export const MAX_LEAF_HOSTS = 1000

/** A leaf certificate for one intercepted host, and the TLS context that serves it. */
export interface Leaf {
  readonly context: SecureContext
  readonly certPem: string
  readonly notAfterMs: number
}

/**
 * Leaf certificates for intercepted hosts, signed by the operator's CA and made on first use
 * (a few milliseconds each). Each is kept for {@link LEAF_RENEW_AFTER_MS}, then made anew on its
 * next use, well before it expires; at most `maxHosts` ({@link MAX_LEAF_HOSTS}) hosts are kept at once.
 * Connections already open keep the certificate they were served.
 */
export class LeafCertificates {
  private readonly leaves: LRUCache<string, Promise<Leaf>>
  private caPromise: Promise<CaSigner> | undefined

  constructor(
    private readonly components: { clock: Clock },
    private readonly init: { caCertPem: string; caKeyPem: string; maxHosts?: number },
  ) {
    this.leaves = new LRUCache<string, Promise<Leaf>>({
      max: init.maxHosts ?? MAX_LEAF_HOSTS,
      ttl: LEAF_RENEW_AFTER_MS,
      // Age by the injected clock, read on every look-up rather than cached for a millisecond.
      perf: { now: () => components.clock.nowMs() },
      ttlResolution: 0,
    })
  }

  contextFor(hostname: string): Promise<SecureContext> {
    return this.leafFor(hostname).then((leaf) => leaf.context)
  }

  /** The current leaf for `hostname`: the one kept, or a new one when none is kept or it is due for renewal. Safe to repeat. */
  leafFor(hostname: string): Promise<Leaf> {
    let leaf = this.leaves.get(hostname)
    if (leaf === undefined) {
      const issued = this.issue(hostname)
      leaf = issued
      this.leaves.set(hostname, issued)
      issued.catch(() => {
        // A failed issue is not kept: the next connection tries again.
        if (this.leaves.peek(hostname) === issued) this.leaves.delete(hostname)
      })
    }
    return leaf
  }

  private async issue(hostname: string): Promise<Leaf> {
    this.caPromise ??= loadCaSigner(this.init.caCertPem, this.init.caKeyPem)
    const ca = await this.caPromise
    const keys = await generateKeyPair()
    const x509 = await loadX509()
    const certPem = await signLeaf(ca, {
      subject: `CN=${hostname}`,
      publicKey: keys.publicKey,
      validDays: LEAF_VALID_DAYS,
      nowMs: this.components.clock.nowMs(),
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: isIP(hostname) === 0 ? 'dns' : 'ip', value: hostname }]),
      ],
    })
    return {
      context: createSecureContext({ cert: `${certPem}\n${ca.certPem}`, key: await privateKeyPem(keys.privateKey) }),
      certPem,
      notAfterMs: validityMs(new X509Certificate(certPem)).toMs,
    }
  }
}
