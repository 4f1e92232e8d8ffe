import { Agent, type Dispatcher } from 'undici'
import { systemClock } from '../../src/common/clock.js'
import type { PeerId, TaskId } from '../../src/protocol/ids.js'
import { CAPABILITY_HEADER, CapabilityIssuer } from '../../src/security/capability.js'
import { loadClusterPki } from '../../src/security/cluster-pki.js'
import type { Role } from '../../src/security/identity.js'
import { issueLocalIdentity, type LocalIdentity } from '../../src/security/local-identity.js'
import { SIGNATURE_HEADER, signRequest } from '../../src/security/request-signature.js'
import { fromPem } from '../../src/security/x509.js'

export interface PieceAnswer {
  readonly status: number
  readonly headers: Record<string, unknown>
  readonly body: Buffer
  /** The error code of a JSON error body. */
  readonly code: string | undefined
}

/**
 * A host of a test cluster that asks upload servers for pieces by hand, the way a child daemon
 * does or an attacker might: with or without a client certificate, a capability, a signature.
 * It can mint capabilities, as it holds the cluster CA: a scheduler's, or anyone's it likes.
 */
export class TestPeer {
  private constructor(
    readonly identity: LocalIdentity,
    private readonly schedulers: Map<Role, CapabilityIssuer>,
    private readonly agents: { withCert: Agent; withoutCert: Agent },
  ) {}

  static async create(pkiDir: string, role: Role = 'normal'): Promise<TestPeer> {
    const pki = await loadClusterPki(pkiDir)
    const identity = await issueLocalIdentity(pki.signer, { role, hostname: 'test-peer', ips: ['127.0.0.1'] })
    const schedulers = new Map<Role, CapabilityIssuer>()
    for (const signerRole of ['scheduler', 'seed'] as const) {
      const signer = await issueLocalIdentity(pki.signer, { role: signerRole, hostname: `test-${signerRole}`, ips: ['127.0.0.1'] })
      schedulers.set(signerRole, new CapabilityIssuer({ clock: systemClock }, { privateKey: signer.privateKey, certDer: fromPem(signer.certPem), ttlMs: 60_000 }))
    }
    const trustAnyParent = { ca: identity.caPem, checkServerIdentity: () => undefined }
    return new TestPeer(identity, schedulers, {
      withCert: new Agent({ connect: { ...trustAnyParent, key: identity.keyPem, cert: identity.certPem } }),
      withoutCert: new Agent({ connect: trustAnyParent }),
    })
  }

  /** A capability for `taskId` signed by a scheduler of the cluster (or by a seed, which no parent accepts). */
  capability(taskId: TaskId, options: { for?: LocalIdentity; signer?: 'scheduler' | 'seed' } = {}): string {
    const holder = (options.for ?? this.identity).identity
    return this.schedulers.get(options.signer ?? 'scheduler')!.issue({ taskId, peerId: 'test-peer' as PeerId, hostId: holder.hostId, publicKeySpki: holder.publicKeySpki }).token
  }

  /**
   * GETs a piece range from an upload server, or with `watch` the list of the pieces it holds
   * (which ends only once it holds them all): TLS with this host's certificate unless told otherwise.
   */
  async get(
    uploadAddress: string,
    taskId: TaskId,
    options: { range?: string; capability?: string; transport?: 'tls' | 'tls-without-certificate' | 'plain'; sign?: boolean; signedRange?: string; watch?: boolean } = {},
  ): Promise<PieceAnswer> {
    const transport = options.transport ?? 'tls'
    const path = `/${options.watch === true ? 'pieces' : 'download'}/${taskId.slice(0, 3)}/${taskId}?peerId=test-peer`
    const headers: Record<string, string> = {}
    if (options.range !== undefined) headers.range = options.range
    if (options.capability !== undefined) headers[CAPABILITY_HEADER] = options.capability
    if (options.sign === true) {
      headers[SIGNATURE_HEADER] = signRequest(this.identity.privateKey, { method: 'GET', path, range: options.signedRange ?? options.range ?? '' }, Date.now())
    }
    const dispatcher: Dispatcher = transport === 'tls-without-certificate' ? this.agents.withoutCert : this.agents.withCert
    const origin = `${transport === 'plain' ? 'http' : 'https'}://${uploadAddress.replace('0.0.0.0', '127.0.0.1')}`
    const response = await dispatcher.request({ origin, path, method: 'GET', headers })
    const body = Buffer.from(await response.body.arrayBuffer())
    let code: string | undefined
    if (response.statusCode >= 400) {
      try {
        code = (JSON.parse(body.toString()) as { error?: { code?: string } }).error?.code
      } catch {
        code = undefined
      }
    }
    return { status: response.statusCode, headers: response.headers, body, code }
  }

  async close(): Promise<void> {
    await Promise.all([this.agents.withCert.close(), this.agents.withoutCert.close()])
  }
}
