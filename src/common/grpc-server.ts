import type { Server, ServerCredentials } from '@grpc/grpc-js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { hostPort } from './host-port.js'

/** Time a gRPC server gives open calls to finish on stop before cutting them. */
const SHUTDOWN_GRACE_MS = 2000

/** Binds `server` and answers `host:port` with the port actually bound (port 0 picks one); INVALID_ARGUMENT naming the address otherwise. */
export function bindGrpcServer(server: Server, host: string, port: number, credentials: ServerCredentials): Promise<string> {
  return new Promise((resolve, reject) => {
    server.bindAsync(hostPort(host, port), credentials, (error, bound) => {
      if (error === null) resolve(hostPort(host, bound))
      else reject(new DamselflyError('INVALID_ARGUMENT', `cannot listen on ${hostPort(host, port)}: ${error.message}`, { cause: error }))
    })
  })
}

/** Lets open calls finish for a grace period, then cuts what is left. */
export function shutdownGrpcServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown()
      resolve()
    }, SHUTDOWN_GRACE_MS)
    timer.unref()
    server.tryShutdown(() => {
      clearTimeout(timer)
      resolve()
    })
  })
}
