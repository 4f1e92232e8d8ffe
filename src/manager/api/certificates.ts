import { z } from 'zod'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import type { CertificatesRepository, IssuedCertificate } from '../trust/certificates-repository.js'
import { pagingQuery, toRfc3339 } from './input-schemas.js'
import { sendPage, toPage } from './paging.js'
import { defineRoute, permission, type Route } from './route.js'

const hostIdParams = z.object({ host_id: z.string().regex(/^[0-9a-f]{32}$/, 'must be a host id: 32 lowercase hex digits') })

function certificateJson(certificate: IssuedCertificate): Record<string, unknown> {
  return {
    host_id: certificate.hostId,
    role: certificate.role,
    cluster_id: certificate.clusterId,
    hostname: certificate.hostname,
    ips: certificate.ips,
    not_after: toRfc3339(certificate.notAfterMs),
    issued_at: toRfc3339(certificate.issuedAtMs),
    revoked_at: certificate.revokedAtMs === null ? null : toRfc3339(certificate.revokedAtMs),
    revoked_by: certificate.revokedBy,
  }
}

/**
 * The certificates the managers issued, one per host (its latest), and revocation: a revoked
 * host is refused by every scheduler, parent and manager within a poll (15 s).
 */
export function certificateRoutes(components: { certificates: CertificatesRepository }): Route[] {
  const { certificates } = components
  return [
    defineRoute({
      method: 'GET',
      url: '/api/v1/certificates',
      summary: 'List the hosts the managers certified, newest first; revoked=true|false narrows',
      access: permission('certificate', 'read'),
      query: pagingQuery.extend({ revoked: z.enum(['true', 'false']).transform((text) => text === 'true').optional() }),
      handler: async ({ query, request, reply }) => sendPage(request, reply, query, await certificates.list(query.revoked === undefined ? {} : { revoked: query.revoked }, toPage(query)), certificateJson),
    }),
    defineRoute({
      method: 'GET',
      url: '/api/v1/certificates/:host_id',
      summary: 'Get the certificate the managers last issued a host',
      access: permission('certificate', 'read'),
      params: hostIdParams,
      handler: async ({ params }) => {
        const certificate = await certificates.get(params.host_id)
        if (certificate === undefined) throw new DamselflyError('NOT_FOUND', `no certificate issued to host ${params.host_id}`)
        return certificateJson(certificate)
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/api/v1/certificates/:host_id/revoke',
      summary: 'Revoke a host: from the next poll on, no scheduler, parent or manager talks to it; it cannot renew',
      access: permission('certificate', 'write'),
      params: hostIdParams,
      handler: async ({ params, principal }) => {
        if (principal.kind === 'anonymous') throw new DamselflyError('UNAUTHENTICATED', 'sign in first')
        return certificateJson(await certificates.revoke(params.host_id, principal.user.name))
      },
    }),
  ]
}
