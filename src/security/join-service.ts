import { X509Certificate } from 'node:crypto'
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js'
import { toGrpcStatus } from '../common/grpc-status.js'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type {
  GetClusterCaRequest, GetClusterCaResponse, IdentityServiceServer, JoinRequest, JoinResponse,
} from '../protocol/generated/damselfly/identity/v1/identity.js'
import { issueHostCertificate, validateIdentityRequest, type HostIdentity, type Role } from './identity.js'
import { importEcPublicKey, validityMs, type CaSigner } from './x509.js'

const TOKEN_BODY = /^([a-z0-9]{6})\.([A-Za-z0-9_-]{22})$/

/** Where join tokens are kept: files beside a scheduler's CA, or the manager's database. */
export interface JoinTokenRedeemer {
  /**
   * The role (and cluster, 0 for none) a valid token grants, using one of its joins;
   * PERMISSION_DENIED naming why otherwise. Safe to call concurrently: a single-use token joins one host.
   */
  redeem(id: string, secret: string): Promise<{ role: Role; clusterId: number }>
}

/**
 * `damselfly.identity.v1.IdentityService`: hands out the CA certificate, and certifies a joining
 * host's key in the role its join token grants. Served where the CA key is: the manager when one
 * runs, else the scheduler.
 */
export class JoinService {
  constructor(
    private readonly components: {
      ca: CaSigner
      tokens: JoinTokenRedeemer
      logger: Logger
      /** Told of every certificate issued, before the host receives it (the manager records them). */
      onIssued?: (issued: { identity: HostIdentity; clusterId: number; notAfterMs: number }) => Promise<void>
    },
    private readonly init: { validDays?: number } = {},
  ) {}

  handlers(): IdentityServiceServer {
    return {
      getClusterCa: (_call: ServerUnaryCall<GetClusterCaRequest, GetClusterCaResponse>, callback: sendUnaryData<GetClusterCaResponse>) => {
        callback(null, { caPem: this.components.ca.certPem })
      },
      join: (call: ServerUnaryCall<JoinRequest, JoinResponse>, callback: sendUnaryData<JoinResponse>) => {
        this.join(call.request, call.getPeer()).then(
          (response) => callback(null, response),
          (error: unknown) => callback(toGrpcStatus(error), null),
        )
      },
    }
  }

  private async join(request: JoinRequest, peer: string): Promise<JoinResponse> {
    const token = TOKEN_BODY.exec(request.token)
    if (token === null) throw new DamselflyError('INVALID_ARGUMENT', 'join: the token must be <id>.<secret>')
    const [, id = '', secret = ''] = token
    try {
      // Everything that can be checked without the token is checked first: a bad request uses no join.
      const publicKeySpki = Buffer.from(request.publicKey)
      validateIdentityRequest(request)
      await importEcPublicKey(publicKeySpki)
      const { role, clusterId } = await this.components.tokens.redeem(id, secret)
      const { certPem, identity } = await issueHostCertificate(this.components.ca, {
        role, publicKeySpki, hostname: request.hostname, ips: request.ips, ...(this.init.validDays === undefined ? {} : { validDays: this.init.validDays }),
      })
      await this.components.onIssued?.({ identity, clusterId, notAfterMs: validityMs(new X509Certificate(certPem)).toMs })
      this.components.logger.info({ tokenId: id, hostId: identity.hostId, role, clusterId, hostname: identity.hostname, ips: identity.ips, peer }, 'host joined')
      return { certPem, caPem: this.components.ca.certPem, hostId: identity.hostId, role, clusterId }
    } catch (error) {
      this.components.logger.warn({ tokenId: id, peer, err: error }, 'join refused')
      throw error
    }
  }
}
