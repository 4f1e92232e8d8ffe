import { z } from 'zod'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { HostsRepository } from '../db/hosts-repository.js'
import type { MembersQuery } from '../db/members-query.js'
import type { HostRow, SchedulerRow, SeedPeerRow } from '../db/schema.js'
import { idParams, pagingQuery, queryInt, toRfc3339 } from './input-schemas.js'
import { hostVersionsQuery } from './live-inputs.js'
import { sendPage, toPage } from './paging.js'
import { definedFields } from './defined-fields.js'
import { hostsQuery } from './host-schemas.js'
import { defineRoute, permission, type Route } from './route.js'

function features(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return []
  }
}

/** Dragonfly's scheduler JSON (`host_name`, `scheduler_cluster_id`), plus when it last kept alive. */
function schedulerJson(row: SchedulerRow): Record<string, unknown> {
  return {
    id: row.id,
    host_name: row.hostname,
    ip: row.ip,
    port: row.port,
    idc: row.idc,
    location: row.location,
    features: features(row.features),
    host_id: row.host_id,
    state: row.state,
    scheduler_cluster_id: row.cluster_id,
    last_keepalive_at: toRfc3339(row.last_keepalive_at_ms),
    created_at: toRfc3339(row.created_at_ms),
    updated_at: toRfc3339(row.updated_at_ms),
  }
}

/** Dragonfly's seed peer JSON (`host_name`, `type`, `seed_peer_cluster_id`). */
function seedPeerJson(row: SeedPeerRow): Record<string, unknown> {
  return {
    id: row.id,
    host_name: row.hostname,
    type: row.type,
    ip: row.ip,
    port: row.port,
    idc: row.idc,
    location: row.location,
    host_id: row.host_id,
    state: row.state,
    seed_peer_cluster_id: row.cluster_id,
    last_keepalive_at: toRfc3339(row.last_keepalive_at_ms),
    created_at: toRfc3339(row.created_at_ms),
    updated_at: toRfc3339(row.updated_at_ms),
  }
}

function hostJson(row: HostRow): Record<string, unknown> {
  return {
    id: row.id,
    host_id: row.host_id,
    hostname: row.hostname,
    ip: row.ip,
    port: row.port,
    idc: row.idc,
    location: row.location,
    version: row.version,
    os: row.os,
    type: row.type,
    cluster_id: row.cluster_id,
    last_seen: toRfc3339(row.last_seen_at_ms),
    created_at: toRfc3339(row.created_at_ms),
    updated_at: toRfc3339(row.updated_at_ms),
  }
}

const filterText = z.string().min(1).max(255)
const clusterId = queryInt(1, 2_147_483_647)
const memberFilters = { state: z.enum(['active', 'inactive']).optional(), idc: filterText.optional(), location: filterText.optional(), hostname: filterText.optional(), ip: filterText.optional() }

function found<T>(row: T | undefined, what: string): T {
  if (row === undefined) throw new DamselflyError('NOT_FOUND', `no ${what}`)
  return row
}

/**
 * Schedulers, seed peers and hosts, as the gRPC side records them: read with filters and paging;
 * a scheduler or seed peer may be deleted (one still running registers again at its next keepalive).
 */
export function memberRoutes(components: { members: MembersQuery; hosts: HostsRepository }): Route[] {
  const { members, hosts } = components
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/schedulers',
      summary: 'List schedulers; hostname and ip match substrings',
      access: permission('scheduler', 'read'),
      query: pagingQuery.extend({ scheduler_cluster_id: clusterId.optional(), ...memberFilters }),
      handler: async ({ query, request, reply }) => {
        const filter = definedFields({ clusterId: query.scheduler_cluster_id, state: query.state, idc: query.idc, location: query.location, hostname: query.hostname, ip: query.ip })
        return sendPage(request, reply, query, await members.listSchedulers(filter, toPage(query)), schedulerJson)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/schedulers/:id',
      summary: 'Get a scheduler',
      access: permission('scheduler', 'read'),
      params: idParams,
      handler: async ({ params }) => schedulerJson(found(await members.getScheduler(params.id), `scheduler ${params.id}`)),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/schedulers/:id',
      summary: 'Forget a scheduler',
      access: permission('scheduler', 'write'),
      params: idParams,
      status: 204,
      handler: async ({ params }) => {
        if (!await members.deleteScheduler(params.id)) throw new DamselflyError('NOT_FOUND', `no scheduler ${params.id}`)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/seed-peers',
      summary: 'List seed peers; hostname and ip match substrings',
      access: permission('seed_peer', 'read'),
      query: pagingQuery.extend({ seed_peer_cluster_id: clusterId.optional(), type: z.enum(['super', 'strong', 'weak']).optional(), ...memberFilters }),
      handler: async ({ query, request, reply }) => {
        const filter = definedFields({ clusterId: query.seed_peer_cluster_id, type: query.type, state: query.state, idc: query.idc, location: query.location, hostname: query.hostname, ip: query.ip })
        return sendPage(request, reply, query, await members.listSeedPeers(filter, toPage(query)), seedPeerJson)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/seed-peers/:id',
      summary: 'Get a seed peer',
      access: permission('seed_peer', 'read'),
      params: idParams,
      handler: async ({ params }) => seedPeerJson(found(await members.getSeedPeer(params.id), `seed peer ${params.id}`)),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/seed-peers/:id',
      summary: 'Forget a seed peer',
      access: permission('seed_peer', 'write'),
      params: idParams,
      status: 204,
      handler: async ({ params }) => {
        if (!await members.deleteSeedPeer(params.id)) throw new DamselflyError('NOT_FOUND', `no seed peer ${params.id}`)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/hosts',
      summary: 'List hosts (daemons and seed peers) schedulers reported; hostname and ip match substrings',
      access: permission('host', 'read'),
      query: hostsQuery,
      handler: async ({ query, request, reply }) => {
        const filter = definedFields({ clusterId: query.cluster_id, type: query.type, version: query.version, idc: query.idc, location: query.location, hostname: query.hostname, ip: query.ip })
        return sendPage(request, reply, query, await hosts.search(filter, toPage(query)), hostJson)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/hosts/versions',
      summary: 'Count hosts by daemon version, most common first',
      access: permission('host', 'read'),
      query: hostVersionsQuery,
      handler: async ({ query }) => hosts.versions(definedFields({ clusterId: query.cluster_id, type: query.type })),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/hosts/:id',
      summary: 'Get a host',
      access: permission('host', 'read'),
      params: idParams,
      handler: async ({ params }) => hostJson(found(await hosts.get(params.id), `host ${params.id}`)),
    }),
  ]
}
