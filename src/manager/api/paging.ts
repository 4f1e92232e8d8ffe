import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Page, Paged } from '../db/page.js'

export interface PagingQuery {
  readonly page: number
  readonly per_page: number
}

export function toPage(query: PagingQuery): Page {
  return { offset: (query.page - 1) * query.per_page, limit: query.per_page }
}

/**
 * Answers one page as a JSON array (Dragonfly's body shape), with the total in `Total-Count`
 * and RFC 8288 `Link`s to the first, previous, next and last pages (same path and filters;
 * `access_token` is never copied into them).
 */
export function sendPage<T, R>(request: FastifyRequest, reply: FastifyReply, query: PagingQuery, paged: Paged<T>, toJson: (item: T) => R): R[] {
  const lastPage = Math.max(1, Math.ceil(paged.total / query.per_page))
  const base = new URL(request.url, 'http://manager')
  base.searchParams.delete('access_token')
  const link = (page: number, rel: string): string => {
    base.searchParams.set('page', String(page))
    base.searchParams.set('per_page', String(query.per_page))
    return `<${base.pathname}${base.search}>; rel="${rel}"`
  }
  const links = [link(1, 'first')]
  if (query.page > 1) links.push(link(Math.min(query.page - 1, lastPage), 'prev'))
  if (query.page < lastPage) links.push(link(query.page + 1, 'next'))
  links.push(link(lastPage, 'last'))
  void reply.header('total-count', String(paged.total)).header('link', links.join(', '))
  return paged.items.map(toJson)
}
