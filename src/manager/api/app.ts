import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Logger } from '../../common/logger.js'
import { DamselflyError, isDamselflyError } from '../../protocol/damselfly-error.js'
import { ERROR_CODES } from '../../protocol/error-codes.js'

/** The largest JSON body any route takes. */
const BODY_LIMIT_BYTES = 1024 * 1024

export interface ApiComponents {
  readonly registry: Registry
  readonly logger: Logger
}

/**
 * The manager's HTTP app (REST, Open API, `/healthy`, `/metrics`), built apart from listening so
 * tests inject requests without a socket. Every failure answers `{ code, message }` with the
 * status of its code (docs/errors.md), in one place.
 */
export function buildApi(components: ApiComponents): FastifyInstance {
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true })
  app.setErrorHandler((error, request, reply) => {
    const failure = toDamselflyError(error)
    if (failure.code === 'INTERNAL') components.logger.error({ err: error, method: request.method, url: request.url }, 'request failed')
    void reply.status(ERROR_CODES[failure.code].httpStatus).send({ code: failure.code, message: failure.message })
  })
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` })
  })
  // Harbor probes /healthy with its token attached: it answers whatever the caller sends.
  app.get('/healthy', async (_request, reply) => reply.type('text/plain').send('OK'))
  app.get('/metrics', async (_request, reply) => reply.type(components.registry.contentType).send(await components.registry.metrics()))
  return app
}

/** Fastify's own errors (a malformed body, a body too large) and ours, as one error with a code. */
function toDamselflyError(error: unknown): DamselflyError {
  if (isDamselflyError(error)) return error
  const fastifyError = error as { statusCode?: number; message?: string; code?: string }
  const status = fastifyError.statusCode ?? 500
  if (status === 413) return new DamselflyError('INVALID_ARGUMENT', `the body is larger than ${BODY_LIMIT_BYTES} bytes`)
  if (status >= 400 && status < 500) return new DamselflyError('INVALID_ARGUMENT', fastifyError.message ?? 'bad request')
  return new DamselflyError('INTERNAL', 'internal error', { cause: error })
}
