import { ERROR_CODES, isErrorCode, type ErrorCode } from './error-codes.js'

/** Facts about a failure that callers may act on; all optional, all safe to show to a user. */
export interface ErrorDetails {
  /** The status the origin answered with, for SOURCE_STATUS. */
  readonly sourceStatus?: number
  readonly taskId?: string
  readonly url?: string
}

/** The one error class of the project. `message` is one line that names the problem. */
export class DamselflyError extends Error {
  override readonly name = 'DamselflyError'
  readonly code: ErrorCode
  readonly details: ErrorDetails

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: ErrorDetails } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus
  }

  /** The JSON shape servers answer with and clients parse back with {@link DamselflyError.fromJSON}. */
  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details }
  }

  static fromJSON(value: unknown): DamselflyError | undefined {
    if (typeof value !== 'object' || value === null) return undefined
    const { code, message, details } = value as Record<string, unknown>
    if (!isErrorCode(code) || typeof message !== 'string') return undefined
    const parsed: { sourceStatus?: number; taskId?: string; url?: string } = {}
    if (typeof details === 'object' && details !== null) {
      const d = details as Record<string, unknown>
      if (typeof d['sourceStatus'] === 'number') parsed.sourceStatus = d['sourceStatus']
      if (typeof d['taskId'] === 'string') parsed.taskId = d['taskId']
      if (typeof d['url'] === 'string') parsed.url = d['url']
    }
    return new DamselflyError(code, message, { details: parsed })
  }
}

export function isDamselflyError(error: unknown, code?: ErrorCode): error is DamselflyError {
  return error instanceof DamselflyError && (code === undefined || error.code === code)
}

/** Wraps anything thrown into a DamselflyError, keeping the original as `cause`. */
export function toDamselflyError(error: unknown, fallback: ErrorCode = 'INTERNAL'): DamselflyError {
  if (error instanceof DamselflyError) return error
  if (error instanceof Error && error.name === 'AbortError') {
    return new DamselflyError('CANCELLED', 'the operation was cancelled', { cause: error })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new DamselflyError(fallback, message.split('\n')[0] ?? 'unknown error', { cause: error })
}
