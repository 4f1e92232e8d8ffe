import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { fromGrpcError } from '../common/grpc-status.js'
import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'
import { IdentityServiceClient } from '../protocol/generated/damselfly/identity/v1/identity.js'
import { roleCheck, SCHEDULER_CHANNEL_OPTIONS } from './grpc-tls.js'
import { generateHostKey, validateIdentityRequest } from './identity.js'
import { parseJoinToken } from './join-tokens.js'
import { assembleIdentity, type LocalIdentity } from './local-identity.js'
import { certificatePin, fromPem, toPem } from './x509.js'

function unary<Res>(what: string, call: (callback: (error: ServiceError | null, response: Res) => void) => void): Promise<Res> {
  return new Promise((resolve, reject) => {
    call((error, response) => {
      if (error === null) resolve(response)
      // A scheduler whose certificate a manager issued holds no CA: the manager takes the joins.
      else if (error.code === status.UNIMPLEMENTED) reject(new DamselflyError('SCHEDULER_UNAVAILABLE', `${what}: it serves no joins (a manager holds this cluster's CA: join there)`, { cause: error }))
      else reject(fromGrpcError(error, what))
    })
  })
}

/**
 * Joins a cluster with a join token: fetches the cluster CA from the manager or scheduler at `address` and
 * checks it against the token's pin before anything secret is sent; then, over TLS verified by
 * that CA, trades the token for a certificate of a key made here. Returns the new identity; the
 * caller stores it.
 */
export async function joinCluster(request: { address: string; token: string; hostname: string; ips: readonly string[]; timeoutMs: number }): Promise<LocalIdentity> {
  const token = parseJoinToken(request.token)
  validateIdentityRequest(request)
  const deadline = (): Date => new Date(Date.now() + request.timeoutMs)
  // Anyone may present any certificate here; the pin, not the handshake, decides whom to trust.
  const discovery = new IdentityServiceClient(request.address, credentials.createSsl(null, null, null, { rejectUnauthorized: false }), SCHEDULER_CHANNEL_OPTIONS)
  let caPem: string
  try {
    ;({ caPem } = await unary<{ caPem: string }>(`cannot fetch the cluster CA from ${request.address}`, (done) => discovery.getClusterCa({}, new Metadata(), { deadline: deadline() }, done)))
  } finally {
    discovery.close()
  }
  let pin: string
  try {
    pin = certificatePin(fromPem(caPem))
  } catch (cause) {
    throw new DamselflyError('PERMISSION_DENIED', `${request.address} sent no usable CA certificate`, { cause })
  }
  if (pin !== token.pin) {
    throw new DamselflyError('PERMISSION_DENIED', `the CA at ${request.address} is not the one the join token names (pin ${pin}): another cluster, or someone in between`)
  }
  const { privateKey, publicKeySpki } = generateHostKey()
  const client = new IdentityServiceClient(request.address, credentials.createSsl(Buffer.from(caPem), null, null, { checkServerIdentity: roleCheck(['scheduler', 'manager']) }), SCHEDULER_CHANNEL_OPTIONS)
  try {
    const response = await unary<{ certPem: string; caPem: string }>(`joining through ${request.address} failed`, (done) =>
      client.join({ token: `${token.id}.${token.secret}`, publicKey: publicKeySpki, hostname: request.hostname, ips: [...request.ips] }, new Metadata(), { deadline: deadline() }, done))
    const keyPem = toPem('PRIVATE KEY', privateKey.export({ type: 'pkcs8', format: 'der' }))
    return assembleIdentity({ caPem, certPem: response.certPem, keyPem }, `the certificate from ${request.address}`)
  } finally {
    client.close()
  }
}

/**
 * {@link joinCluster} at the first of `addresses` (managers or schedulers) that answers. A refused
 * token is refused everywhere, so only an unreachable address, or one that serves no joins, is
 * passed over.
 */
export async function joinAny(addresses: readonly string[], request: { token: string; hostname: string; ips: readonly string[]; timeoutMs: number }): Promise<LocalIdentity> {
  const failures: string[] = []
  for (const address of addresses) {
    try {
      return await joinCluster({ address, ...request })
    } catch (error) {
      const failure = toDamselflyError(error)
      if (failure.code !== 'SCHEDULER_UNAVAILABLE') throw failure
      failures.push(failure.message)
    }
  }
  throw new DamselflyError('SCHEDULER_UNAVAILABLE', `cannot join the cluster: ${failures.join('; ')}`)
}
