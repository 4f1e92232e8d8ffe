import type { FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'
import type { Principal } from '../auth/principal.js'
import type { Cluster, ClustersRepository } from '../db/clusters-repository.js'
import { JOB_TYPES } from '../db/job-type.js'
import { JOB_STATES, type Job, type JobsRepository } from '../db/jobs-repository.js'
import { optional } from '../jobs/job-args.js'
import type { JobActor, JobService } from '../jobs/job-service.js'
import { createJobBody } from './create-job-body.js'
import { idParams, pagingQuery, rfc3339 } from './input-schemas.js'
import { jobHostJson, jobJson } from './job-json.js'
import { sendPage, toPage } from './paging.js'
import { defineRoute, permission, type Route } from './route.js'

/** How often a live view looks for changed host rows. */
const EVENTS_POLL_MS = 500
/** A comment line this often keeps proxies from closing a quiet event stream. */
const EVENTS_HEARTBEAT_MS = 15_000
/** Host rows sent per poll at most; the rest follow at the next. */
const EVENTS_BATCH = 2_000

const listQuery = pagingQuery.extend({
  type: z.enum(JOB_TYPES).optional(),
  state: z.enum(JOB_STATES).optional(),
  user_id: z.string().regex(/^[0-9]{1,10}$/).transform(Number).optional(),
})

function actorOf(principal: Principal): JobActor {
  return principal.kind === 'anonymous' ? { userId: undefined, name: 'anonymous' } : { userId: principal.user.id, name: principal.user.name }
}

/**
 * Jobs under /api/v1 and Dragonfly's Open API (/oapi/v1, personal access tokens with the `job`
 * scope): create, list, inspect, stop, rerun for failed hosts, copy, delete; each host's rows,
 * and a live event stream of them.
 */
export function jobRoutes(components: { jobs: JobsRepository; jobService: JobService; clusters: ClustersRepository }): Route[] {
  const { jobs, jobService, clusters } = components

  async function clustersOf(list: readonly Job[]): Promise<Map<number, Cluster>> {
    const ids = [...new Set(list.flatMap((job) => job.clusterIds))]
    const found = await Promise.all(ids.map((id) => clusters.get(id)))
    return new Map(found.filter((cluster) => cluster !== undefined).map((cluster) => [cluster.id, cluster]))
  }

  async function render(job: Job): Promise<Record<string, unknown>> {
    const hosts = job.phase === 'done' && (job.type === 'preheat' || job.type === 'distribution') ? (await jobs.listHosts(job.id)).items : undefined
    return jobJson(job, await clustersOf([job]), hosts)
  }

  const shared = (prefix: string, who: string): Route[] => [
    defineRoute({
      method: 'POST',
      url: `${prefix}/jobs`,
      summary: `Create a job: preheat, distribution, get_task or delete_task${who}; rate-limited per cluster`,
      access: permission('job', 'write'),
      body: createJobBody,
      handler: async ({ body, principal }) => render(await jobService.create({
        type: body.type,
        bio: body.bio ?? '',
        args: body.args,
        clusterIds: body.scheduler_cluster_ids ?? [],
        scheduledAtMs: body.scheduled_at,
      }, actorOf(principal))),
    }),
    defineRoute({
      method: 'GET',
      url: `${prefix}/jobs`,
      summary: `List jobs, newest first, by type, state and creator${who}`,
      access: permission('job', 'read'),
      query: listQuery,
      handler: async ({ query, request, reply }) => {
        const page = await jobs.list({
          ...(query.type === undefined ? {} : { type: query.type }),
          ...(query.state === undefined ? {} : { state: query.state }),
          ...(query.user_id === undefined ? {} : { userId: query.user_id }),
        }, toPage(query))
        const known = await clustersOf(page.items)
        // A listing carries no per-host results: GET one job for them.
        return sendPage(request, reply, query, page, (job) => jobJson(job, known, job.phase === 'done' ? [] : undefined))
      },
    }),
    defineRoute({
      method: 'GET',
      url: `${prefix}/jobs/:id`,
      summary: `Get a job; its result once it ended${who}`,
      access: permission('job', 'read'),
      params: idParams,
      handler: async ({ params }) => render(await jobs.getOrThrow(params.id)),
    }),
    defineRoute({
      method: 'DELETE',
      url: `${prefix}/jobs/:id`,
      summary: `Delete a job and its results; a running one stops${who}`,
      access: permission('job', 'write'),
      params: idParams,
      status: 204,
      handler: async ({ params }) => jobService.delete(params.id),
    }),
  ]

  return [
    ...shared('/api/v1', ''),
    ...shared('/oapi/v1', ' (Open API: personal access tokens only)'),
    defineRoute({
      method: 'PATCH',
      url: '/api/v1/jobs/:id',
      summary: 'Change a job\'s description',
      access: permission('job', 'write'),
      params: idParams,
      body: z.object({ bio: z.string().max(1024) }),
      handler: async ({ params, body }) => render(await jobs.setBio(params.id, body.bio)),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/jobs/:id/stop',
      summary: 'Stop a job: daemons abort its downloads; one not started yet never starts',
      access: permission('job', 'write'),
      params: idParams,
      handler: async ({ params, principal }) => render(await jobService.stop(params.id, actorOf(principal))),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/jobs/:id/rerun',
      summary: 'Run a finished preheat or distribution job again on the hosts that failed',
      access: permission('job', 'write'),
      params: idParams,
      handler: async ({ params }) => render(await jobService.rerunFailed(params.id)),
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/jobs/:id/copy',
      summary: 'Create a new job like this one (same arguments, credentials and clusters), now or at scheduled_at',
      access: permission('job', 'write'),
      params: idParams,
      body: z.preprocess((value) => value ?? {}, z.object({ scheduled_at: optional(rfc3339) })),
      handler: async ({ params, body, principal }) => render(await jobService.copy(params.id, actorOf(principal), body.scheduled_at)),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/jobs/:id/hosts',
      summary: 'A job\'s host rows: each host\'s progress and outcome per URL',
      access: permission('job', 'read'),
      params: idParams,
      query: pagingQuery.extend({ state: z.enum(['PENDING', 'RUNNING', 'SUCCESS', 'FAILURE']).optional() }),
      handler: async ({ params, query, request, reply }) => {
        await jobs.getOrThrow(params.id)
        const page = await jobs.listHosts(params.id, query.state === undefined ? {} : { state: query.state }, toPage(query))
        return sendPage(request, reply, query, page, jobHostJson)
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/jobs/:id/events',
      summary: 'Server-sent events: the job (event job) and each host row as it changes (event host), until the job ends',
      access: permission('job', 'read'),
      params: idParams,
      handler: async ({ params, request, reply }) => {
        const job = await jobs.getOrThrow(params.id)
        await streamJobEvents({ jobs, render }, job, request, reply)
      },
    }),
  ]
}

/**
 * Streams a job's changes as server-sent events, read from the database so any manager serves a
 * job any other runs: every host row first, then each row as it changes, the job whenever it
 * changes, and a last `job` event once it ended.
 */
async function streamJobEvents(
  components: { jobs: JobsRepository; render: (job: Job) => Promise<Record<string, unknown>> },
  first: Job,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  reply.hijack()
  const raw = reply.raw
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
  let closed = false
  request.raw.on('close', () => {
    closed = true
  })
  const send = (event: string, data: unknown): void => {
    raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
  }
  // Rows are sent once per change: a row's last update time, by its key, tells a new change from one sent.
  const sent = new Map<string, number>()
  let watermarkMs = -1
  let jobUpdatedMs = -1
  let lastWriteMs = Date.now()
  try {
    for (let job: Job | undefined = first; job !== undefined && !closed;) {
      const rows = await components.jobs.hostsChangedSince(job.id, watermarkMs, EVENTS_BATCH)
      for (const row of rows) {
        const key = `${row.hostKey}\n${row.urlIndex}`
        if (sent.get(key) === row.updatedAtMs) continue
        sent.set(key, row.updatedAtMs)
        send('host', jobHostJson(row))
        lastWriteMs = Date.now()
      }
      // Rows written in the same millisecond as the last one seen are read again, and skipped above.
      if (rows.length > 0) watermarkMs = Math.max(watermarkMs, (rows.at(-1)?.updatedAtMs ?? 0) - 1)
      if (job.updatedAtMs !== jobUpdatedMs) {
        jobUpdatedMs = job.updatedAtMs
        send('job', await components.render(job))
        lastWriteMs = Date.now()
      }
      if (job.phase === 'done' && rows.length < EVENTS_BATCH) break
      if (Date.now() - lastWriteMs >= EVENTS_HEARTBEAT_MS) {
        raw.write(': still here\n\n')
        lastWriteMs = Date.now()
      }
      await new Promise((resolve) => setTimeout(resolve, EVENTS_POLL_MS))
      job = await components.jobs.get(job.id)
    }
  } finally {
    raw.end()
  }
}
