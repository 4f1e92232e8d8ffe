import type { Clock } from '../common/clock.js'
import { silentLogger, type Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { Authenticator } from './auth/authenticator.js'
import { PasswordHasher, type ScryptParameters } from './auth/password-hasher.js'
import { SIGNIN_LIMIT_DEFAULTS, SigninService } from './auth/signin-service.js'
import { AuditsRepository } from './db/audits-repository.js'
import { ClustersRepository } from './db/clusters-repository.js'
import type { ManagerDatabase } from './db/database.js'
import { HostsRepository } from './db/hosts-repository.js'
import { MembersQuery } from './db/members-query.js'
import { PersonalAccessTokensRepository } from './db/personal-access-tokens-repository.js'
import { RolesRepository } from './db/roles-repository.js'
import { SessionsRepository } from './db/sessions-repository.js'
import { SigninFailuresRepository } from './db/signin-failures-repository.js'
import { UsersRepository } from './db/users-repository.js'
import { CertificatesRepository } from './trust/certificates-repository.js'
import { JoinTokensRepository } from './trust/join-tokens-repository.js'
import { JobsRepository, type Job } from './db/jobs-repository.js'
import { JobSecrets } from './jobs/job-secrets.js'
import { JobService, type JobEnqueuer } from './jobs/job-service.js'
import { LiveData } from './live/live-data.js'
import { NO_LIVE_SCHEDULERS, type LiveSchedulers } from './live/live-schedulers.js'

/** The repositories and auth services the REST API runs on, all over one database. */
export interface ManagerServices {
  readonly clock: Clock
  readonly clusters: ClustersRepository
  readonly users: UsersRepository
  readonly roles: RolesRepository
  readonly sessions: SessionsRepository
  readonly tokens: PersonalAccessTokensRepository
  readonly audits: AuditsRepository
  readonly members: MembersQuery
  readonly hosts: HostsRepository
  readonly hasher: PasswordHasher
  readonly signin: SigninService
  readonly authenticator: Authenticator
  readonly joinTokens: JoinTokensRepository
  readonly certificates: CertificatesRepository
  readonly jobs: JobsRepository
  readonly jobSecrets: JobSecrets
  readonly jobService: JobService
  /** The console's live data, asked of the clusters' schedulers. */
  readonly live: LiveData
  readonly sessionTtlMs: number
}

export interface ManagerServicesInit {
  readonly sessionTtlMs: number
  /** Lowered only by tests, to keep them fast; production takes the default (N = 16384). */
  readonly scrypt?: ScryptParameters
  readonly signinLimit?: { maxFailures: number; windowMs: number }
  /** The pin of the cluster CA that join tokens carry; the manager knows it once started. */
  readonly caPin?: () => string
}

function noCa(): never {
  throw new DamselflyError('INVALID_ARGUMENT', 'this manager holds no cluster CA (security.insecure): it makes no join tokens')
}

/** Builds every repository and auth service over `database`; the manager and the API tests share this. */
export function createManagerServices(
  components: {
    database: ManagerDatabase; clock: Clock; jobQueue: JobEnqueuer; onJobCreated?: (job: Job) => void
    /** The clusters' live schedulers; none without them (tests of the API alone). */
    liveSchedulers?: LiveSchedulers
    logger?: Logger
  },
  init: ManagerServicesInit,
): ManagerServices {
  const clusters = new ClustersRepository(components)
  const users = new UsersRepository(components)
  const roles = new RolesRepository(components)
  const sessions = new SessionsRepository(components)
  const tokens = new PersonalAccessTokensRepository(components)
  const hasher = new PasswordHasher(init.scrypt === undefined ? {} : { scrypt: init.scrypt })
  const failures = new SigninFailuresRepository(components)
  const jobs = new JobsRepository(components)
  const jobSecrets = new JobSecrets(components)
  return {
    clock: components.clock,
    clusters,
    users,
    roles,
    sessions,
    tokens,
    audits: new AuditsRepository(components),
    members: new MembersQuery(components),
    hosts: new HostsRepository(components),
    hasher,
    signin: new SigninService({ users, sessions, failures, hasher, clock: components.clock }, { sessionTtlMs: init.sessionTtlMs, ...(init.signinLimit ?? SIGNIN_LIMIT_DEFAULTS) }),
    authenticator: new Authenticator({ users, roles, sessions, tokens, clock: components.clock }),
    joinTokens: new JoinTokensRepository({ ...components, pin: init.caPin ?? noCa }),
    certificates: new CertificatesRepository(components),
    jobs,
    jobSecrets,
    jobService: new JobService({
      jobs, clusters, secrets: jobSecrets, queue: components.jobQueue, clock: components.clock,
      ...(components.onJobCreated === undefined ? {} : { onCreated: components.onJobCreated }),
    }),
    live: new LiveData({ schedulers: components.liveSchedulers ?? NO_LIVE_SCHEDULERS, clock: components.clock, logger: components.logger ?? silentLogger() }),
    sessionTtlMs: init.sessionTtlMs,
  }
}
