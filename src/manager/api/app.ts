import Fastify, { type FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'
import type { Logger } from '../../common/logger.js'
import { DamselflyError, isDamselflyError } from '../../protocol/damselfly-error.js'
import { ERROR_CODES } from '../../protocol/error-codes.js'
import type { ManagerServices } from '../manager-services.js'
import { auditRoutes } from './audits.js'
import { certificateRoutes } from './certificates.js'
import { clusterOverviewRoutes } from './cluster-overview.js'
import { clusterRoutes } from './clusters.js'
import { sendConsolePage, serveConsole, wantsConsolePage } from './console-files.js'
import { memberRoutes } from './members.js'
import { joinTokenRoutes } from './join-tokens.js'
import { jobRoutes } from './jobs.js'
import { buildOpenApiDocument } from './openapi.js'
import { personalAccessTokenRoutes } from './personal-access-tokens.js'
import { roleRoutes } from './roles.js'
import type { Route } from './route.js'
import { catalogueRoutes } from './route-catalogue.js'
import { registerRoutes } from './route-registrar.js'
import { sessionRoutes } from './sessions.js'
import { taskSwarmRoutes } from './task-swarm.js'
import { userRoutes } from './users.js'

/** The largest JSON body any route takes. */
const BODY_LIMIT_BYTES = 1024 * 1024

export interface ApiComponents {
  readonly registry: Registry
  readonly logger: Logger
  readonly services: ManagerServices
  /** The built console's files, served on the same port; none when it was not built. */
  readonly consoleDir?: string | undefined
}

/** Every route of the REST API and the Open API, one table per resource. */
export function apiRoutes(services: ManagerServices): Route[] {
  return [
    ...sessionRoutes(services),
    ...userRoutes(services),
    ...roleRoutes(services),
    ...personalAccessTokenRoutes(services),
    ...auditRoutes(services),
    ...clusterRoutes(services),
    ...clusterOverviewRoutes(services),
    ...memberRoutes(services),
    ...joinTokenRoutes(services),
    ...certificateRoutes(services),
    ...jobRoutes({ jobs: services.jobs, jobService: services.jobService, clusters: services.clusters }),
    ...taskSwarmRoutes(services),
  ]
}

/**
 * The manager's HTTP app (REST, Open API, `/healthy`, `/metrics`), built apart from listening so
 * tests inject requests without a socket. Every failure answers `{ code, message }` with the
 * status of its code (docs/errors.md), in one place.
 */
export function buildApi(components: ApiComponents): FastifyInstance {
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true, exposeHeadRoutes: false })
  catalogueRoutes(app)
  app.setErrorHandler((error, request, reply) => {
    const failure = toDamselflyError(error)
    // The path only: a token may ride in the query string.
    if (failure.code === 'INTERNAL') components.logger.error({ err: error, method: request.method, path: request.url.split('?')[0] }, 'request failed')
    void reply.status(ERROR_CODES[failure.code].httpStatus).send({ code: failure.code, message: failure.message })
  })
  const { consoleDir } = components
  if (consoleDir !== undefined) serveConsole(app, consoleDir)
  app.setNotFoundHandler(async (request, reply) => {
    if (consoleDir !== undefined && wantsConsolePage(request)) return sendConsolePage(reply)
    return reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` })
  })
  // Harbor probes /healthy with its token attached: it answers whatever the caller sends.
  app.get('/healthy', async (_request, reply) => reply.type('text/plain').send('OK'))
  app.get('/metrics', async (_request, reply) => reply.type(components.registry.contentType).send(await components.registry.metrics()))
  const routes = apiRoutes(components.services)
  const openApi = JSON.stringify(buildOpenApiDocument(routes))
  app.get('/api/v1/openapi.json', async (_request, reply) => reply.type('application/json').send(openApi))
  registerRoutes(app, routes, { authenticator: components.services.authenticator, audits: components.services.audits, logger: components.logger })
  return app
}

/** Fastify's own errors (a malformed body, a body too large) and ours, as one error with a code. */
function toDamselflyError(error: unknown): DamselflyError {
  if (isDamselflyError(error)) return error
  const fastifyError = error as { statusCode?: number; message?: string; code?: string }
  const status = fastifyError.statusCode ?? 500
  if (status === 413) return new DamselflyError('INVALID_ARGUMENT', `the body is larger than ${BODY_LIMIT_BYTES} bytes`)
  if (status === 415) return new DamselflyError('INVALID_ARGUMENT', 'the body must be JSON (Content-Type: application/json)')
  if (status >= 400 && status < 500) return new DamselflyError('INVALID_ARGUMENT', fastifyError.message ?? 'bad request')
  return new DamselflyError('INTERNAL', 'internal error', { cause: error })
}
