import type { FastifyInstance, RouteOptions } from 'fastify'
import { CONSOLE_FILES_URL } from './console-files.js'
import type { Access } from './route.js'

/** A route fastify registered, with the access it declared (undefined for a route registered outside the table). */
export interface CataloguedRoute {
  readonly method: string
  readonly url: string
  readonly access: Access | undefined
}

/** Routes that need no declared access: probes, metrics, the API's own description and the console's files. */
export const UNGUARDED_URLS: ReadonlySet<string> = new Set(['/healthy', '/metrics', '/api/v1/openapi.json', CONSOLE_FILES_URL])

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered on this app, in order, as fastify saw it. */
    readonly routeCatalogue: CataloguedRoute[]
  }
}

function accessOf(route: RouteOptions): Access | undefined {
  const config = route.config as { access?: Access } | undefined
  return config?.access
}

/** Starts recording every route registered from now on into `app.routeCatalogue`. */
export function catalogueRoutes(app: FastifyInstance): void {
  const catalogue: CataloguedRoute[] = []
  app.decorate('routeCatalogue', catalogue)
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) catalogue.push({ method, url: route.url, access: accessOf(route) })
  })
}

/** Routes that declared no access and are not among the few that need none: each one is a hole. */
export function unguardedRoutes(app: FastifyInstance): string[] {
  return app.routeCatalogue.filter((route) => route.access === undefined && !UNGUARDED_URLS.has(route.url)).map((route) => `${route.method} ${route.url}`)
}
