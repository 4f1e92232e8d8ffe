import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js'
import { DamselflyError, toDamselflyError } from '../protocol/damselfly-error.js'
import { ERROR_CODES, type ErrorCode } from '../protocol/error-codes.js'

/** The error-code table holds gRPC status numbers; grpc-js wants its enum. */
const GRPC_STATUSES = new Map<number, status>(
  Object.values(status)
    .filter((value): value is status => typeof value === 'number')
    .map((value) => [value, value]),
)

/** Carries the Damselfly code of a failure to the client, which the gRPC status alone cannot tell apart. */
const CODE_METADATA_KEY = 'x-damselfly-error-code'

/** The one place an error becomes a gRPC status (servers use it for every failed call). */
export function toGrpcStatus(error: unknown): Partial<StatusObject> {
  const failure = toDamselflyError(error)
  const metadata = new Metadata()
  metadata.set(CODE_METADATA_KEY, failure.code)
  return { code: GRPC_STATUSES.get(ERROR_CODES[failure.code].grpcStatus) ?? status.UNKNOWN, details: failure.message, metadata }
}

/** A failed call as a DamselflyError: the server's code when it sent one, else one that fits the status. */
export function fromGrpcError(error: ServiceError, what: string): DamselflyError {
  const sent = error.metadata?.get(CODE_METADATA_KEY)[0]
  const code: ErrorCode = typeof sent === 'string' && Object.hasOwn(ERROR_CODES, sent) ? (sent as ErrorCode)
    : error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED ? 'SCHEDULER_UNAVAILABLE'
      : error.code === status.UNAUTHENTICATED ? 'UNAUTHENTICATED'
        : error.code === status.PERMISSION_DENIED ? 'PERMISSION_DENIED'
          : 'INTERNAL'
  return new DamselflyError(code, `${what}: ${error.details || error.message}`, { cause: error })
}
