import { z } from 'zod'
import { VERSION } from '../../common/version.js'
import type { Route } from './route.js'

type JsonObject = Record<string, unknown>

function jsonSchema(schema: z.ZodType): JsonObject {
  // Input shape: what a client sends, before transforms (ids as text in paths and queries).
  const document = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonObject
  delete document['$schema']
  return document
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonObject[] {
  if (schema === undefined) return []
  const object = jsonSchema(schema) as { properties?: Record<string, JsonObject>; required?: string[] }
  return Object.entries(object.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (object.required ?? []).includes(name),
    schema: property,
  }))
}

const ERROR_RESPONSE = { description: 'error', content: { 'application/json': { schema: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } } } }

/** `/api/v1/users/:id` as OpenAPI writes it: `/api/v1/users/{id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}')
}

/**
 * The OpenAPI 3.1 document of the route table: every route with its schemas, the access it
 * needs (`x-access`; `orOwner` when being the user the request is about is enough), and how to
 * authenticate. Built from the same table that registers the
 * routes, so the two cannot drift apart.
 */
export function buildOpenApiDocument(routes: readonly Route[]): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {}
  for (const route of routes) {
    const operation: JsonObject = {
      summary: route.summary,
      operationId: `${route.method.toLowerCase()}${openApiPath(route.url).replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? '').toUpperCase())}`,
      tags: [route.access.object],
      'x-access': route.ownerOf === undefined ? route.access : { ...route.access, orOwner: true },
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      responses: { [String(route.status ?? 200)]: { description: 'success' }, default: ERROR_RESPONSE },
      security: route.access.kind === 'public' ? [] : route.url.startsWith('/oapi/') ? [{ bearer: [] }] : [{ bearer: [] }, { cookie: [] }],
    }
    if (route.body !== undefined) operation['requestBody'] = { required: true, content: { 'application/json': { schema: jsonSchema(route.body) } } }
    const path = openApiPath(route.url)
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Damselfly manager', version: VERSION },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a session token from POST /api/v1/users/signin, or a personal access token' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'damselfly_session' },
      },
    },
  }
}
