import openapiTS, { astToString } from 'openapi-typescript'
import { apiRoutes } from '../../src/manager/api/app.js'
import { buildOpenApiDocument } from '../../src/manager/api/openapi.js'
import type { ManagerServices } from '../../src/manager/manager-services.js'

/**
 * The manager's OpenAPI document as TypeScript types. Only the route table is read: building it
 * never calls a service, and a service that is called fails loudly instead of answering nothing.
 */
export async function apiSchemaSource(): Promise<string> {
  const services = new Proxy({}, { get: (_target, name) => new Proxy(() => undefined, { apply: () => { throw new Error(`building the route table called services.${String(name)}`) } }) }) as ManagerServices
  const document = buildOpenApiDocument(apiRoutes(services))
  const header = '// Generated from the manager\'s OpenAPI document by `npm run generate-api -w console`; do not edit.\n\n'
  return header + astToString(await openapiTS(JSON.parse(JSON.stringify(document)) as Parameters<typeof openapiTS>[0]))
}
