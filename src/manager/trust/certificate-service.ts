import { X509Certificate } from 'node:crypto'
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js'
import { toGrpcStatus } from '../../common/grpc-status.js'
import type { Logger } from '../../common/logger.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type {
  CertificateServiceServer, ListRevokedHostsRequest, ListRevokedHostsResponse, RenewCertificateRequest, RenewCertificateResponse,
} from '../../protocol/generated/damselfly/identity/v1/identity.js'
import type { AuthenticatedCall } from '../../security/grpc-tls.js'
import { issueHostCertificate, type HostIdentity } from '../../security/identity.js'
import { validityMs, type CaSigner } from '../../security/x509.js'
import type { CertificatesRepository } from './certificates-repository.js'

/**
 * `damselfly.identity.v1.CertificateService` on the manager: renews a caller's certificate for the
 * same key, role, name and addresses, and lists the revoked hosts. Both need the caller's current
 * certificate; a revoked host gets neither.
 */
export class CertificateService {
  constructor(
    private readonly components: {
      ca: CaSigner
      certificates: CertificatesRepository
      callerOf: (call: AuthenticatedCall) => HostIdentity | undefined
      logger: Logger
    },
    private readonly init: { validDays: number },
  ) {}

  handlers(): CertificateServiceServer {
    return {
      renewCertificate: (call: ServerUnaryCall<RenewCertificateRequest, RenewCertificateResponse>, callback: sendUnaryData<RenewCertificateResponse>) => {
        this.renew(call).then((response) => callback(null, response), (error: unknown) => callback(toGrpcStatus(error), null))
      },
      listRevokedHosts: (call: ServerUnaryCall<ListRevokedHostsRequest, ListRevokedHostsResponse>, callback: sendUnaryData<ListRevokedHostsResponse>) => {
        this.listRevoked(call).then((response) => callback(null, response), (error: unknown) => callback(toGrpcStatus(error), null))
      },
    }
  }

  private async caller(call: AuthenticatedCall, what: string): Promise<HostIdentity> {
    const identity = this.components.callerOf(call)
    if (identity === undefined) throw new DamselflyError('UNAUTHENTICATED', `${what}: the caller presented no certificate from this cluster's CA`)
    if (await this.components.certificates.isRevoked(identity.hostId)) throw new DamselflyError('PERMISSION_DENIED', `${what}: host ${identity.hostId} is revoked`)
    return identity
  }

  private async renew(call: ServerUnaryCall<RenewCertificateRequest, RenewCertificateResponse>): Promise<RenewCertificateResponse> {
    const identity = await this.caller(call, 'renew certificate')
    if (identity.role === 'manager') throw new DamselflyError('PERMISSION_DENIED', 'renew certificate: a manager certifies itself')
    const previous = await this.components.certificates.get(identity.hostId)
    const { certPem } = await issueHostCertificate(this.components.ca, {
      role: identity.role, publicKeySpki: identity.publicKeySpki, hostname: identity.hostname, ips: identity.ips, validDays: this.init.validDays,
    })
    const notAfterMs = validityMs(new X509Certificate(certPem)).toMs
    await this.components.certificates.record({ identity, clusterId: previous?.clusterId ?? 0, notAfterMs })
    this.components.logger.info({ hostId: identity.hostId, role: identity.role, notAfter: new Date(notAfterMs).toISOString() }, 'certificate renewed')
    return { certPem, caPem: this.components.ca.certPem }
  }

  private async listRevoked(call: ServerUnaryCall<ListRevokedHostsRequest, ListRevokedHostsResponse>): Promise<ListRevokedHostsResponse> {
    await this.caller(call, 'list revoked hosts')
    return { hostIds: await this.components.certificates.revokedHostIds() }
  }
}
