/**
 * Every error Damselfly reports carries one of these codes. Each code maps to the HTTP status a
 * server answers with and the gRPC status code a control-plane call fails with. Branch on the
 * code, never on the message. `docs/errors.md` documents every code; a test keeps both in step.
 */
export const ERROR_CODES = {
  INVALID_ARGUMENT: { httpStatus: 400, grpcStatus: 3, summary: 'a request or flag is malformed' },
  UNSUPPORTED_SCHEME: { httpStatus: 400, grpcStatus: 3, summary: 'the URL scheme has no source' },
  CONFIG_INVALID: { httpStatus: 500, grpcStatus: 9, summary: 'the configuration has errors' },
  SOURCE_STATUS: { httpStatus: 502, grpcStatus: 14, summary: 'the origin answered with an error status' },
  SOURCE_UNREACHABLE: { httpStatus: 502, grpcStatus: 14, summary: 'the origin could not be reached' },
  SOURCE_TRUNCATED: { httpStatus: 502, grpcStatus: 14, summary: 'the origin sent fewer or more bytes than it announced' },
  SOURCE_RANGE_UNSUPPORTED: { httpStatus: 502, grpcStatus: 14, summary: 'the origin ignored a range request' },
  SOURCE_NOT_ALLOWED: { httpStatus: 403, grpcStatus: 7, summary: 'the source address policy refused the address of the origin' },
  SOURCE_TIMEOUT: { httpStatus: 504, grpcStatus: 4, summary: 'the origin did not answer in time' },
  TIMEOUT: { httpStatus: 504, grpcStatus: 4, summary: 'the download did not finish within its deadline' },
  CANCELLED: { httpStatus: 499, grpcStatus: 1, summary: 'the caller gave up' },
  DIGEST_MISMATCH: { httpStatus: 422, grpcStatus: 10, summary: 'the content does not match the expected digest' },
  NO_SPACE: { httpStatus: 507, grpcStatus: 8, summary: 'not enough free disk space for the task' },
  NOT_FOUND: { httpStatus: 404, grpcStatus: 5, summary: 'no such resource (cluster, user, role, token, ...)' },
  ALREADY_EXISTS: { httpStatus: 409, grpcStatus: 6, summary: 'a resource with that name already exists' },
  TOO_MANY_REQUESTS: { httpStatus: 429, grpcStatus: 8, summary: 'the caller asked too often; try again later' },
  HOST_NOT_FOUND: { httpStatus: 404, grpcStatus: 5, summary: 'no host connected to the scheduler has that IP or hostname' },
  TASK_NOT_FOUND: { httpStatus: 404, grpcStatus: 5, summary: 'no such task on this host' },
  PIECE_NOT_FOUND: { httpStatus: 404, grpcStatus: 5, summary: 'this host does not hold the piece' },
  RANGE_NOT_SATISFIABLE: { httpStatus: 416, grpcStatus: 11, summary: 'the requested range lies outside the content' },
  BACK_TO_SOURCE_DISABLED: { httpStatus: 502, grpcStatus: 9, summary: 'no peer has the content and back-to-source is disabled' },
  SCHEDULE_FAILED: { httpStatus: 502, grpcStatus: 9, summary: 'the scheduler found no parent and the priority allows no back-to-source' },
  PARENT_FAILED: { httpStatus: 502, grpcStatus: 14, summary: 'a parent peer could not be reached, went silent or broke the piece protocol' },
  PIECE_DEFERRED: { httpStatus: 503, grpcStatus: 14, summary: 'a seed peer sends other pieces first; the piece is to come from a peer that has it' },
  TOO_MANY_UPLOADS: { httpStatus: 503, grpcStatus: 8, summary: 'this host is serving as many pieces as it allows at once' },
  PROXY_BUSY: { httpStatus: 503, grpcStatus: 8, summary: 'the registry mirror is serving as many requests as it allows at once' },
  UPSTREAM_NOT_ALLOWED: { httpStatus: 403, grpcStatus: 7, summary: 'the proxy does not serve that upstream registry' },
  UNAUTHENTICATED: { httpStatus: 401, grpcStatus: 16, summary: 'the caller did not prove who it is: no valid certificate, capability or signature' },
  CAPABILITY_EXPIRED: { httpStatus: 401, grpcStatus: 16, summary: 'the capability presented for a task has expired; the scheduler issues a new one' },
  PERMISSION_DENIED: { httpStatus: 403, grpcStatus: 7, summary: 'the caller is known but not allowed to do this' },
  SHARING_DISABLED: { httpStatus: 403, grpcStatus: 7, summary: 'this host does not share its content with peers' },
  OUTPUT_INVALID: { httpStatus: 400, grpcStatus: 3, summary: 'the output path cannot be written' },
  DAEMON_UNAVAILABLE: { httpStatus: 503, grpcStatus: 14, summary: 'the local daemon cannot be reached' },
  SCHEDULER_UNAVAILABLE: { httpStatus: 503, grpcStatus: 14, summary: 'the scheduler cannot be reached' },
  MANAGER_UNAVAILABLE: { httpStatus: 503, grpcStatus: 14, summary: 'no manager can be reached' },
  STORAGE_FAILED: { httpStatus: 500, grpcStatus: 13, summary: 'reading or writing the local store failed' },
  JOB_QUEUE_UNAVAILABLE: { httpStatus: 503, grpcStatus: 14, summary: 'the manager\'s job queue (Redis) cannot be reached' },
  SHUTTING_DOWN: { httpStatus: 503, grpcStatus: 14, summary: 'the process is stopping' },
  INTERNAL: { httpStatus: 500, grpcStatus: 13, summary: 'an unexpected failure; a bug' },
} as const satisfies Record<string, { httpStatus: number; grpcStatus: number; summary: string }>

export type ErrorCode = keyof typeof ERROR_CODES

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value)
}
