import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

/**
 * Where `npm run build` puts the console: `dist/console`, beside `dist/manager` when the manager
 * runs from `dist`, and the same folder when it runs from `src` (tests under tsx). Undefined when
 * the console was not built.
 */
export function builtConsoleDir(): string | undefined {
  const candidates = [new URL('../../console/', import.meta.url), new URL('../../../dist/console/', import.meta.url)].map((url) => fileURLToPath(url))
  return candidates.find((dir) => existsSync(`${dir}index.html`))
}

/** Paths that belong to the API, never to the console, even when no route matched. */
const API_PREFIXES = ['/api/', '/oapi/']

/**
 * The console's own answers carry a policy that lets the page load nothing but this manager's
 * files and talk to nothing but this manager: an injected script would have nowhere to send a
 * session, and no other site may frame the console.
 */
const CONSOLE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
} as const

function isConsolePath(url: string): boolean {
  const path = url.split('?')[0] ?? ''
  return !API_PREFIXES.some((prefix) => path.startsWith(prefix))
}

/** The route that serves the console's files: public, as any web page's scripts are; they hold no data. */
export const CONSOLE_FILES_URL = '/*'

/**
 * Serves the console's files from `dir` (one GET route for every path no other route took; a
 * missing file falls through to the not-found handler), and its `index.html` for any other GET
 * of a page (`/clusters/3`): the browser-side router draws it. Hashed assets are cached for a
 * year, the page itself never, so a new build shows at the next load.
 */
export function serveConsole(app: FastifyInstance, dir: string): void {
  void app.register(fastifyStatic, {
    root: dir,
    wildcard: true,
    cacheControl: false,
    index: 'index.html',
    setHeaders: (response, path) => {
      for (const [name, value] of Object.entries(CONSOLE_HEADERS)) response.setHeader(name, value)
      response.setHeader('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
    },
  })
}

/** Whether a request no route matched should get the console's page: a GET for HTML outside the API. */
export function wantsConsolePage(request: FastifyRequest): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && isConsolePath(request.url) && !(request.url.split('?')[0] ?? '').startsWith('/assets/') && (request.headers.accept ?? '').includes('text/html')
}

export function sendConsolePage(reply: FastifyReply): FastifyReply {
  return reply.headers({ ...CONSOLE_HEADERS, 'cache-control': 'no-cache' }).sendFile('index.html')
}
