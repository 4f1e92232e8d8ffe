import { Metadata, type ChannelCredentials } from '@grpc/grpc-js'
import type { Clock } from '../common/clock.js'
import { fromGrpcError } from '../common/grpc-status.js'
import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'
import { CertificateServiceClient } from '../protocol/generated/damselfly/identity/v1/identity.js'
import { MANAGER_CHANNEL_OPTIONS, managerChannelCredentials } from './grpc-tls.js'
import { assembleIdentity, writeIdentity, type LocalIdentity } from './local-identity.js'
import { BACKDATE_MS, validityMs } from './x509.js'

/** The share of a certificate's life after which it is renewed: a third of it is left for retries. */
const RENEW_AT_FRACTION = 2 / 3
/** Between failed attempts; a manager that is down for a while still sees one attempt a minute. */
const RETRY_MS = 60_000

/**
 * Keeps this process's certificate valid: after two thirds of its life it asks a manager for a
 * new one for the same key, writes it to the identity directory, and hands it to `onRenewed` so
 * the ports using it switch (new connections present the new certificate; open ones go on). The
 * key never leaves the host and never changes, so the host id stays the same.
 */
export class CertificateRenewer implements Startable {
  private current: LocalIdentity
  private timer: NodeJS.Timeout | undefined
  private renewing: Promise<void> | undefined
  private stopped = false

  constructor(
    private readonly components: { clock: Clock; logger: Logger; onRenewed: (identity: LocalIdentity) => void },
    private readonly init: {
      identity: LocalIdentity
      /** Where the identity is kept; the renewed certificate replaces the one there. */
      identityDir: string
      managerAddrs: readonly string[]
      timeoutMs?: number
      /** Builds the channel to a manager from the current identity; mutual TLS by default. */
      credentials?: (identity: LocalIdentity) => ChannelCredentials
    },
  ) {
    this.current = init.identity
  }

  /** The identity in use: the latest certificate. */
  get identity(): LocalIdentity {
    return this.current
  }

  start(): Promise<void> {
    this.schedule(this.dueInMs())
    return Promise.resolve()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.renewing
  }

  /** Renews now, whatever the certificate's age; rejects when no manager gave a new one. */
  renewNow(): Promise<void> {
    this.renewing ??= this.renew().finally(() => {
      this.renewing = undefined
    })
    return this.renewing
  }

  /**
   * Milliseconds until the certificate is two thirds through its life (0 when past it). Its life
   * runs from when it was issued: its notBefore is set back by BACKDATE_MS for clocks that lag.
   */
  private dueInMs(): number {
    const { fromMs, toMs } = validityMs(this.current.cert)
    const issuedMs = Math.min(fromMs + BACKDATE_MS, toMs)
    return Math.max(0, issuedMs + (toMs - issuedMs) * RENEW_AT_FRACTION - this.components.clock.nowMs())
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    // A Node timer holds at most about 24 days; a longer wait is taken in steps.
    this.timer = setTimeout(() => {
      if (this.dueInMs() > 0) {
        this.schedule(this.dueInMs())
        return
      }
      this.renewNow().then(
        () => this.schedule(this.dueInMs()),
        (error: unknown) => {
          this.components.logger.warn({ err: error, notAfter: this.current.cert.validTo }, 'certificate renewal failed; trying again in a minute')
          this.schedule(RETRY_MS)
        },
      )
    }, Math.min(delayMs, 2 ** 31 - 1))
    this.timer.unref()
  }

  private async renew(): Promise<void> {
    const failures: string[] = []
    for (const address of this.init.managerAddrs) {
      const credentials = (this.init.credentials ?? managerChannelCredentials)(this.current)
      const client = new CertificateServiceClient(address, credentials, MANAGER_CHANNEL_OPTIONS)
      try {
        const response = await new Promise<{ certPem: string; caPem: string }>((resolve, reject) => {
          const deadline = new Date(this.components.clock.nowMs() + (this.init.timeoutMs ?? 10_000))
          client.renewCertificate({}, new Metadata(), { deadline }, (error, answer) => {
            if (error === null) resolve(answer)
            else reject(fromGrpcError(error, `cannot renew the certificate at ${address}`))
          })
        })
        const renewed = assembleIdentity({ caPem: response.caPem, certPem: response.certPem, keyPem: this.current.keyPem }, `the certificate from ${address}`, this.components.clock.nowMs())
        if (renewed.identity.hostId !== this.current.identity.hostId) throw new Error(`${address} certified another key`)
        await writeIdentity(this.init.identityDir, renewed)
        this.current = renewed
        this.components.logger.info({ hostId: renewed.identity.hostId, notAfter: renewed.cert.validTo }, 'certificate renewed')
        this.components.onRenewed(renewed)
        return
      } catch (error) {
        failures.push((error as Error).message)
      } finally {
        client.close()
      }
    }
    throw new Error(`no manager renewed the certificate: ${failures.join('; ')}`)
  }
}
