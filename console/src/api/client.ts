import type { paths } from './schema'
import type { Answers } from './types'

/**
 * The manager's API, typed by its OpenAPI document (`schema.d.ts`): a path, its method, its path
 * and query parameters and its body are checked against the route table at compile time. What a
 * route answers is declared once in `types.ts` (`Answers`): the document describes what routes
 * take, not what they answer. The session rides in the HttpOnly cookie the browser holds; no token is ever read or
 * stored here.
 */

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>

/** Paths that take method `M`. */
export type PathWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends undefined ? never : P }[keyof paths]

type ParamsOf<O> = O extends { parameters: infer Parameters } ? Parameters : never
type PathParams<O> = ParamsOf<O> extends { path: infer Path } ? Path : never
type QueryParams<O> = ParamsOf<O> extends { query?: infer Query } ? Query : never
type JsonOf<R> = R extends { content: { 'application/json': infer Body } } ? Body : never
type BodyOf<O> = O extends { requestBody?: infer R } ? ([R] extends [never] ? never : JsonOf<R>) : never

/** What `P` answers to `M`, as `types.ts` declares it. */
export type AnswerOf<P, M extends Method> = P extends keyof Answers ? (M extends keyof Answers[P] ? Answers[P][M] : unknown) : unknown

/** What a call sends, each part only where its route takes one. */
export type RequestParts<P extends keyof paths, M extends Method> = ([PathParams<Operation<P, M>>] extends [never] ? { path?: never } : { path: PathParams<Operation<P, M>> }) &
  ([QueryParams<Operation<P, M>>] extends [never] ? { query?: never } : { query?: QueryParams<Operation<P, M>> }) &
  ([BodyOf<Operation<P, M>>] extends [never] ? { body?: never } : { body: BodyOf<Operation<P, M>> }) & { signal?: AbortSignal }

/** A failure as the API words it: `{ code, message }` with the HTTP status. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
    this.name = 'ApiError'
  }
}

/** A page of a list, with how many match in all (the `Total-Count` header). */
export interface Page<T> {
  readonly items: T[]
  readonly total: number
}

/** Called when the API answers 401: the session ended (signed out elsewhere, expired). */
let onUnauthenticated: () => void = () => undefined
export function whenUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler
}

/** `/api/v1/clusters/{id}` with `{ id: '3' }` → `/api/v1/clusters/3`, each value escaped. */
export function fillPath(template: string, values: Record<string, string | number> | undefined): string {
  return template.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => {
    const value = values?.[name]
    if (value === undefined) throw new Error(`no value for {${name}} in ${template}`)
    return encodeURIComponent(String(value))
  })
}

export function queryString(query: object | undefined): string {
  const search = new URLSearchParams()
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === '') continue
    for (const item of [value].flat() as unknown[]) search.append(name, String(item))
  }
  const text = search.toString()
  return text === '' ? '' : `?${text}`
}

async function send(method: Method, template: string, parts: { path?: unknown; query?: unknown; body?: unknown; signal?: AbortSignal }): Promise<Response> {
  const url = fillPath(template, parts.path as Record<string, string> | undefined) + queryString(parts.query as object | undefined)
  const init: RequestInit = { method: method.toUpperCase(), credentials: 'same-origin', headers: { accept: 'application/json' } }
  if (parts.signal !== undefined) init.signal = parts.signal
  if (parts.body !== undefined) {
    init.body = JSON.stringify(parts.body)
    init.headers = { accept: 'application/json', 'content-type': 'application/json' }
  }
  const response = await fetch(url, init)
  if (response.ok) return response
  const failure = (await response.json().catch(() => undefined)) as { code?: string; message?: string } | undefined
  if (response.status === 401) onUnauthenticated()
  throw new ApiError(response.status, failure?.code ?? 'UNKNOWN', failure?.message ?? `${response.status} ${response.statusText}`)
}

async function bodyOf<T>(response: Response): Promise<T> {
  // The answer's type is declared in types.ts; the API's own tests hold it to its shape.
  if (response.status === 204) return undefined as T
  return (await response.json()) as T
}

export const api = {
  async get<P extends PathWith<'get'>>(path: P, parts?: RequestParts<P, 'get'>): Promise<AnswerOf<P, 'get'>> {
    return bodyOf(await send('get', path, parts ?? {}))
  },
  /** A listing route's page: its items and the `Total-Count` of everything that matches. */
  async list<P extends PathWith<'get'>>(path: P, parts?: RequestParts<P, 'get'>): Promise<Page<AnswerOf<P, 'get'> extends readonly (infer Item)[] ? Item : unknown>> {
    const response = await send('get', path, parts ?? {})
    const items = (await response.json()) as (AnswerOf<P, 'get'> extends readonly (infer Item)[] ? Item : unknown)[]
    const total = Number(response.headers.get('total-count') ?? items.length)
    return { items, total }
  },
  async post<P extends PathWith<'post'>>(path: P, parts?: RequestParts<P, 'post'>): Promise<AnswerOf<P, 'post'>> {
    return bodyOf(await send('post', path, parts ?? {}))
  },
  async put<P extends PathWith<'put'>>(path: P, parts?: RequestParts<P, 'put'>): Promise<AnswerOf<P, 'put'>> {
    return bodyOf(await send('put', path, parts ?? {}))
  },
  async patch<P extends PathWith<'patch'>>(path: P, parts?: RequestParts<P, 'patch'>): Promise<AnswerOf<P, 'patch'>> {
    return bodyOf(await send('patch', path, parts ?? {}))
  },
  async delete<P extends PathWith<'delete'>>(path: P, parts?: RequestParts<P, 'delete'>): Promise<AnswerOf<P, 'delete'>> {
    return bodyOf(await send('delete', path, parts ?? {}))
  },
}
