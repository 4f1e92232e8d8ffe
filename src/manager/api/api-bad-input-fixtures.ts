/**
 * One or more malformed requests per route that takes input, with the field the one-line reason
 * must name. `route` is the route's own method and URL, so a test can tell which routes have none.
 * `as: 'pat'` sends a personal access token with every scope, for the Open API.
 */
export interface BadInputCase {
  readonly route: string
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  readonly url: string
  readonly body?: unknown
  readonly names: string
  readonly as?: 'pat'
}

const LONG_ROLE = 'r'.repeat(65)
const FUTURE = '2030-01-01T00:00:00Z'

export const BAD_INPUT_CASES: readonly BadInputCase[] = [
  { route: 'POST /api/v1/users/signin', method: 'POST', url: '/api/v1/users/signin', body: { name: 'root' }, names: 'body.password' },
  { route: 'POST /api/v1/users/signin', method: 'POST', url: '/api/v1/users/signin', body: [], names: 'body' },
  { route: 'GET /api/v1/users', method: 'GET', url: '/api/v1/users?per_page=0', names: 'query.per_page' },
  { route: 'GET /api/v1/users', method: 'GET', url: '/api/v1/users?state=off', names: 'query.state' },
  { route: 'POST /api/v1/users', method: 'POST', url: '/api/v1/users', body: { name: 'new-user', password: 'short' }, names: 'body.password' },
  { route: 'POST /api/v1/users', method: 'POST', url: '/api/v1/users', body: { name: 'new user', password: 'long-enough' }, names: 'body.name' },
  { route: 'POST /api/v1/users', method: 'POST', url: '/api/v1/users', body: { name: 'new-user', password: 'long-enough', email: 'not-an-email' }, names: 'body.email' },
  { route: 'GET /api/v1/users/:id', method: 'GET', url: '/api/v1/users/abc', names: 'params.id' },
  { route: 'PATCH /api/v1/users/:id', method: 'PATCH', url: '/api/v1/users/1', body: { state: 'off' }, names: 'body.state' },
  { route: 'PATCH /api/v1/users/:id', method: 'PATCH', url: '/api/v1/users/0', body: {}, names: 'params.id' },
  { route: 'POST /api/v1/users/:id/reset_password', method: 'POST', url: '/api/v1/users/1/reset_password', body: { old_password: 'x', new_password: 'short' }, names: 'body.new_password' },
  { route: 'GET /api/v1/users/:id/roles', method: 'GET', url: '/api/v1/users/1.5/roles', names: 'params.id' },
  { route: 'PUT /api/v1/users/:id/roles/:role', method: 'PUT', url: '/api/v1/users/x/roles/guest', names: 'params.id' },
  { route: 'DELETE /api/v1/users/:id/roles/:role', method: 'DELETE', url: `/api/v1/users/1/roles/${LONG_ROLE}`, names: 'params.role' },
  { route: 'POST /api/v1/roles', method: 'POST', url: '/api/v1/roles', body: { role: 'Bad Name' }, names: 'body.role' },
  { route: 'POST /api/v1/roles', method: 'POST', url: '/api/v1/roles', body: { role: 'ok', permissions: [{ object: 'cluster', action: 'fly' }] }, names: 'body.permissions[0].action' },
  { route: 'GET /api/v1/roles/:role', method: 'GET', url: `/api/v1/roles/${LONG_ROLE}`, names: 'params.role' },
  { route: 'DELETE /api/v1/roles/:role', method: 'DELETE', url: `/api/v1/roles/${LONG_ROLE}`, names: 'params.role' },
  { route: 'POST /api/v1/roles/:role/permissions', method: 'POST', url: '/api/v1/roles/guest/permissions', body: { object: 'planet', action: 'read' }, names: 'body.object' },
  { route: 'DELETE /api/v1/roles/:role/permissions', method: 'DELETE', url: '/api/v1/roles/guest/permissions', body: { object: 'cluster' }, names: 'body.action' },
  { route: 'POST /api/v1/personal-access-tokens', method: 'POST', url: '/api/v1/personal-access-tokens', body: { name: 'p', scopes: ['admin'], expired_at: FUTURE }, names: 'body.scopes[0]' },
  { route: 'POST /api/v1/personal-access-tokens', method: 'POST', url: '/api/v1/personal-access-tokens', body: { name: 'p', scopes: ['job'], expired_at: 'tomorrow' }, names: 'body.expired_at' },
  { route: 'POST /api/v1/personal-access-tokens', method: 'POST', url: '/api/v1/personal-access-tokens', body: { name: 'p', scopes: ['job'], expired_at: '2001-01-01T00:00:00Z' }, names: 'body.expired_at' },
  { route: 'POST /api/v1/personal-access-tokens', method: 'POST', url: '/api/v1/personal-access-tokens', body: { name: 'p', scopes: [], expired_at: FUTURE }, names: 'body.scopes' },
  { route: 'GET /api/v1/personal-access-tokens', method: 'GET', url: '/api/v1/personal-access-tokens?user_id=me', names: 'query.user_id' },
  { route: 'GET /api/v1/personal-access-tokens/:id', method: 'GET', url: '/api/v1/personal-access-tokens/x', names: 'params.id' },
  { route: 'PATCH /api/v1/personal-access-tokens/:id', method: 'PATCH', url: '/api/v1/personal-access-tokens/x', body: {}, names: 'params.id' },
  { route: 'DELETE /api/v1/personal-access-tokens/:id', method: 'DELETE', url: '/api/v1/personal-access-tokens/99999999999', names: 'params.id' },
  { route: 'GET /api/v1/audits', method: 'GET', url: '/api/v1/audits?since=yesterday', names: 'query.since' },
  { route: 'GET /api/v1/audits', method: 'GET', url: '/api/v1/audits?method=GET', names: 'query.method' },
  { route: 'GET /api/v1/clusters', method: 'GET', url: '/api/v1/clusters?page=0', names: 'query.page' },
  { route: 'GET /api/v1/clusters/:id', method: 'GET', url: '/api/v1/clusters/one', names: 'params.id' },
  { route: 'GET /oapi/v1/clusters', method: 'GET', url: '/oapi/v1/clusters?per_page=5000', names: 'query.per_page', as: 'pat' },
  { route: 'GET /oapi/v1/clusters/:id', method: 'GET', url: '/oapi/v1/clusters/-1', names: 'params.id', as: 'pat' },
  { route: 'POST /api/v1/clusters', method: 'POST', url: '/api/v1/clusters', body: { name: 'c', scopes: { cidrs: ['10.0.0.0/33'] } }, names: 'body.scopes.cidrs[0]' },
  { route: 'POST /api/v1/clusters', method: 'POST', url: '/api/v1/clusters', body: { name: 'c', scopes: { hostnames: ['('] } }, names: 'body.scopes.hostnames[0]' },
  { route: 'POST /api/v1/clusters', method: 'POST', url: '/api/v1/clusters', body: { name: 'c', scheduler_cluster_config: { candidate_parent_limit: 0 } }, names: 'body.scheduler_cluster_config.candidate_parent_limit' },
  { route: 'POST /api/v1/clusters', method: 'POST', url: '/api/v1/clusters', body: { bio: 'no name' }, names: 'body.name' },
  { route: 'PATCH /api/v1/clusters/:id', method: 'PATCH', url: '/api/v1/clusters/1', body: { blocklist: { urls: ['['] } }, names: 'body.blocklist.urls[0]' },
  { route: 'PATCH /api/v1/clusters/:id', method: 'PATCH', url: '/api/v1/clusters/1', body: { seed_peer_cluster_config: { load_limit: 'many' } }, names: 'body.seed_peer_cluster_config.load_limit' },
  { route: 'DELETE /api/v1/clusters/:id', method: 'DELETE', url: '/api/v1/clusters/-1', names: 'params.id' },
  { route: 'GET /api/v1/schedulers', method: 'GET', url: '/api/v1/schedulers?scheduler_cluster_id=x', names: 'query.scheduler_cluster_id' },
  { route: 'GET /api/v1/schedulers/:id', method: 'GET', url: '/api/v1/schedulers/x', names: 'params.id' },
  { route: 'DELETE /api/v1/schedulers/:id', method: 'DELETE', url: '/api/v1/schedulers/x', names: 'params.id' },
  { route: 'GET /api/v1/seed-peers', method: 'GET', url: '/api/v1/seed-peers?type=mega', names: 'query.type' },
  { route: 'GET /api/v1/seed-peers/:id', method: 'GET', url: '/api/v1/seed-peers/x', names: 'params.id' },
  { route: 'DELETE /api/v1/seed-peers/:id', method: 'DELETE', url: '/api/v1/seed-peers/x', names: 'params.id' },
  { route: 'GET /api/v1/hosts', method: 'GET', url: '/api/v1/hosts?type=weird', names: 'query.type' },
  { route: 'GET /api/v1/hosts', method: 'GET', url: '/api/v1/hosts?hostname=', names: 'query.hostname' },
  { route: 'GET /api/v1/hosts/:id', method: 'GET', url: '/api/v1/hosts/x', names: 'params.id' },
  { route: 'GET /api/v1/hosts/versions', method: 'GET', url: '/api/v1/hosts/versions?type=super', names: 'query.type' },
  { route: 'GET /api/v1/hosts/versions', method: 'GET', url: '/api/v1/hosts/versions?cluster_id=0', names: 'query.cluster_id' },
  { route: 'GET /api/v1/clusters/:id/overview', method: 'GET', url: '/api/v1/clusters/x/overview', names: 'params.id' },
  { route: 'GET /api/v1/tasks/:task_id/swarm', method: 'GET', url: `/api/v1/tasks/${'A'.repeat(64)}/swarm`, names: 'params.task_id' },
  { route: 'GET /api/v1/tasks/:task_id/swarm', method: 'GET', url: `/api/v1/tasks/${'a'.repeat(64)}/swarm?cluster_id=first`, names: 'query.cluster_id' },
  { route: 'POST /api/v1/join-tokens', method: 'POST', url: '/api/v1/join-tokens', body: { role: 'manager' }, names: 'body.role' },
  { route: 'POST /api/v1/join-tokens', method: 'POST', url: '/api/v1/join-tokens', body: { role: 'normal', ttl: 'forever' }, names: 'body.ttl' },
  { route: 'POST /api/v1/join-tokens', method: 'POST', url: '/api/v1/join-tokens', body: { role: 'normal', ttl: '9000h' }, names: 'body.ttl' },
  { route: 'POST /api/v1/join-tokens', method: 'POST', url: '/api/v1/join-tokens', body: { role: 'seed', uses: 0 }, names: 'body.uses' },
  { route: 'DELETE /api/v1/join-tokens/:id', method: 'DELETE', url: '/api/v1/join-tokens/ABC', names: 'params.id' },
  { route: 'GET /api/v1/certificates', method: 'GET', url: '/api/v1/certificates?revoked=maybe', names: 'query.revoked' },
  { route: 'GET /api/v1/certificates/:host_id', method: 'GET', url: '/api/v1/certificates/not-a-host', names: 'params.host_id' },
  { route: 'POST /api/v1/certificates/:host_id/revoke', method: 'POST', url: '/api/v1/certificates/ZZ/revoke', names: 'params.host_id' },
  { route: 'POST /api/v1/jobs', method: 'POST', url: '/api/v1/jobs', body: { type: 'preheat', args: { type: 'image', url: 'not a url' } }, names: 'body.args.url' },
  { route: 'POST /api/v1/jobs', method: 'POST', url: '/api/v1/jobs', body: { type: 'gc', args: {} }, names: 'body.type' },
  { route: 'POST /api/v1/jobs', method: 'POST', url: '/api/v1/jobs', body: { type: 'preheat', args: { type: 'file', url: 'https://files.example/a' }, scheduler_cluster_ids: ['one'] }, names: 'body.scheduler_cluster_ids[0]' },
  { route: 'GET /api/v1/jobs', method: 'GET', url: '/api/v1/jobs?state=RUNNING', names: 'query.state' },
  { route: 'GET /api/v1/jobs/:id', method: 'GET', url: '/api/v1/jobs/x', names: 'params.id' },
  { route: 'DELETE /api/v1/jobs/:id', method: 'DELETE', url: '/api/v1/jobs/0', names: 'params.id' },
  { route: 'POST /oapi/v1/jobs', method: 'POST', url: '/oapi/v1/jobs', body: { type: 'preheat', args: { type: 'image', url: 'https://r.example/v2/a/manifests/1', scope: 'some' } }, names: 'body.args.scope', as: 'pat' },
  { route: 'GET /oapi/v1/jobs', method: 'GET', url: '/oapi/v1/jobs?type=sync', names: 'query.type', as: 'pat' },
  { route: 'GET /oapi/v1/jobs/:id', method: 'GET', url: '/oapi/v1/jobs/1.5', names: 'params.id', as: 'pat' },
  { route: 'DELETE /oapi/v1/jobs/:id', method: 'DELETE', url: '/oapi/v1/jobs/x', names: 'params.id', as: 'pat' },
  { route: 'PATCH /api/v1/jobs/:id', method: 'PATCH', url: '/api/v1/jobs/1', body: { bio: 7 }, names: 'body.bio' },
  { route: 'POST /api/v1/jobs/:id/stop', method: 'POST', url: '/api/v1/jobs/x/stop', names: 'params.id' },
  { route: 'POST /api/v1/jobs/:id/rerun', method: 'POST', url: '/api/v1/jobs/-2/rerun', names: 'params.id' },
  { route: 'POST /api/v1/jobs/:id/copy', method: 'POST', url: '/api/v1/jobs/1/copy', body: { scheduled_at: 'soon' }, names: 'body.scheduled_at' },
  { route: 'GET /api/v1/jobs/:id/hosts', method: 'GET', url: '/api/v1/jobs/1/hosts?state=DONE', names: 'query.state' },
  { route: 'GET /api/v1/jobs/:id/events', method: 'GET', url: '/api/v1/jobs/x/events', names: 'params.id' },
]

/** The routes the cases above cover. */
export function coveredRoutes(): Set<string> {
  return new Set(BAD_INPUT_CASES.map((badInput) => badInput.route))
}
