import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js'
import { toGrpcStatus } from '../common/grpc-status.js'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type {
  GetClusterCaRequest, GetClusterCaResponse, IdentityServiceServer, JoinRequest, JoinResponse,
} from '../protocol/generated/damselfly/identity/v1/identity.js'
import type { ClusterPki } from './cluster-pki.js'
import { issueHostCertificate, validateIdentityRequest } from './identity.js'
import type { JoinTokenStore } from './join-tokens.js'
import { importEcPublicKey } from './x509.js'

const TOKEN_BODY = /^([a-z0-9]{6})\.([A-Za-z0-9_-]{22})$/

/**
 * The join half of `damselfly.identity.v1.IdentityService`: hands out the CA certificate, and
 * certifies a joining host's key in the role its join token grants. Served where the CA key is
 * (the schedulers today).
 */
export class JoinService {
  constructor(private readonly components: { pki: ClusterPki; tokens: JoinTokenStore; logger: Logger }) {}

  handlers(): IdentityServiceServer {
    return {
      getClusterCa: (_call: ServerUnaryCall<GetClusterCaRequest, GetClusterCaResponse>, callback: sendUnaryData<GetClusterCaResponse>) => {
        callback(null, { caPem: this.components.pki.signer.certPem })
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
      const role = await this.components.tokens.redeem(id, secret)
      const { certPem, identity } = await issueHostCertificate(this.components.pki.signer, { role, publicKeySpki, hostname: request.hostname, ips: request.ips })
      this.components.logger.info({ tokenId: id, hostId: identity.hostId, role, hostname: identity.hostname, ips: identity.ips, peer }, 'host joined')
      return { certPem, caPem: this.components.pki.signer.certPem, hostId: identity.hostId, role }
    } catch (error) {
      this.components.logger.warn({ tokenId: id, peer, err: error }, 'join refused')
      throw error
    }
  }
}
