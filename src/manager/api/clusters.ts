import type { z } from 'zod'
import type { Cluster, ClustersRepository } from '../db/clusters-repository.js'
import type { ClusterMemberCounts, MembersQuery } from '../db/members-query.js'
import { idParams, pagingQuery, toRfc3339 } from './input-schemas.js'
import { sendPage, toPage } from './paging.js'
import { definedFields } from './defined-fields.js'
import { defineRoute, permission, type Route } from './route.js'
import { clusterPatchBody as patchBody, newClusterBody as createBody } from './cluster-schemas.js'

const NO_MEMBERS: ClusterMemberCounts = { activeSchedulers: 0, activeSeedPeers: 0, hosts: 0 }

/**
 * A cluster in Dragonfly's JSON: one id serves as the scheduler cluster's and the seed peer
 * cluster's; `members` (ours) counts its active schedulers and seed peers and its hosts.
 */
export function clusterJson(cluster: Cluster, members: ClusterMemberCounts = NO_MEMBERS): Record<string, unknown> {
  return {
    id: cluster.id,
    name: cluster.name,
    bio: cluster.bio,
    scopes: cluster.scopes,
    scheduler_cluster_id: cluster.id,
    seed_peer_cluster_id: cluster.id,
    ...cluster.config,
    is_default: cluster.isDefault,
    created_at: toRfc3339(cluster.createdAtMs),
    updated_at: toRfc3339(cluster.updatedAtMs),
    members: { active_schedulers: members.activeSchedulers, active_seed_peers: members.activeSeedPeers, hosts: members.hosts },
  }
}

function configOf(body: z.output<typeof patchBody>): Record<string, unknown> {
  return definedFields({
    scheduler_cluster_config: body.scheduler_cluster_config === undefined ? undefined : definedFields(body.scheduler_cluster_config),
    seed_peer_cluster_config: body.seed_peer_cluster_config === undefined ? undefined : definedFields(body.seed_peer_cluster_config),
    peer_cluster_config: body.peer_cluster_config === undefined ? undefined : definedFields(body.peer_cluster_config),
    blocklist: body.blocklist === undefined ? undefined : definedFields(body.blocklist),
  })
}

/** Clusters under /api/v1, and the read routes under Dragonfly's Open API prefix for tokens. */
export function clusterRoutes(components: { clusters: ClustersRepository; members: MembersQuery }): Route[] {
  const { clusters, members } = components
  const withMembers = async (cluster: Cluster): Promise<Record<string, unknown>> => clusterJson(cluster, (await members.countsByCluster([cluster.id])).get(cluster.id))
  const readRoutes = (prefix: string, who: string): Route[] => [
    defineRoute({
      method: 'GET',
      url: `${prefix}/clusters`,
      summary: `List clusters${who}`,
      access: permission('cluster', 'read'),
      query: pagingQuery,
      handler: async ({ query, request, reply }) => {
        const page = await clusters.list(toPage(query))
        const counts = await members.countsByCluster(page.clusters.map((cluster) => cluster.id))
        return sendPage(request, reply, query, { items: page.clusters, total: page.total }, (cluster) => clusterJson(cluster, counts.get(cluster.id)))
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${prefix}/clusters/:id`,
      summary: `Get a cluster${who}`,
      access: permission('cluster', 'read'),
      params: idParams,
      handler: async ({ params }) => withMembers(await clusters.getOrThrow(params.id)),
    }),
  ]
  return [
    ...readRoutes('/api/v1', ''),
    ...readRoutes('/oapi/v1', ' (Open API: personal access tokens only)'),
    defineRoute({
      method: 'POST',
      url: '/api/v1/clusters',
      summary: 'Create a cluster; unset configuration takes Dragonfly\'s defaults',
      access: permission('cluster', 'write'),
      status: 201,
      body: createBody,
      handler: async ({ body }) => withMembers(await clusters.create({ name: body.name, bio: body.bio, scopes: definedFields(body.scopes), config: configOf(body) })),
    }),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/clusters/:id',
      summary: 'Change a cluster; configuration sections merge field by field',
      access: permission('cluster', 'write'),
      params: idParams,
      body: patchBody,
      handler: async ({ params, body }) => withMembers(await clusters.update(params.id, {
        ...definedFields({ name: body.name, bio: body.bio }),
        ...(body.scopes === undefined ? {} : { scopes: definedFields(body.scopes) }),
        config: configOf(body),
      })),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/api/v1/clusters/:id',
      summary: 'Delete a cluster that is not the default and has no schedulers or seed peers',
      access: permission('cluster', 'write'),
      params: idParams,
      status: 204,
      handler: async ({ params }) => clusters.delete(params.id),
    }),
  ]
}
