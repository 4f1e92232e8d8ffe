import { hostname } from 'node:os'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { systemClock } from '../common/clock.js'
import { parseDurationMs } from '../common/units.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { defaultPkiDir, initClusterPki, loadClusterPki, PKI_FILES } from '../security/cluster-pki.js'
import { certificateHostname, ROLES, type Role } from '../security/identity.js'
import { JoinTokenStore } from '../security/join-tokens.js'
import { issueLocalIdentity, writeIdentity } from '../security/local-identity.js'
import { fail } from './exit.js'

const HOST_ROLES = ROLES.filter((role) => role !== 'scheduler' && role !== 'manager')

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new DamselflyError('INVALID_ARGUMENT', `${flag} must be a positive integer, got ${JSON.stringify(value)}`)
  return number
}

/**
 * `damselfly pki`: the cluster CA that gives every host its identity. `init` makes it (a
 * scheduler also does on first start), `token create` prints a join token for a new host, and
 * `issue` certifies a host without a token, for provisioning tools.
 */
export function pkiCommand(): Command {
  const pki = new Command('pki').description('the cluster CA: identities for schedulers and hosts, join tokens')
  const dirOption = (): Option => new Option('--dir <path>', 'the cluster PKI directory (security.pkiDir of the scheduler)').default(defaultPkiDir())

  pki.command('init')
    .description('create the cluster CA (ca.crt, ca.key) unless the directory holds one')
    .addOption(dirOption())
    .action(async (flags: { dir: string }) => {
      try {
        const { pki: made, created } = await initClusterPki(flags.dir)
        process.stdout.write(`${created ? 'created' : 'found'} the cluster CA in ${made.dir} (keep ${PKI_FILES.caKey} on the schedulers only)\n`)
      } catch (error) {
        fail('damselfly pki init', error)
      }
    })

  const token = pki.command('token').description('join tokens: a host trades one for its certificate (damselfly join, or dfdaemon --join-token)')
  token.command('create')
    .description('print a new join token; it is shown once and only its hash is kept')
    .addOption(dirOption())
    .addOption(new Option('--role <role>', 'what the joining host becomes').choices(HOST_ROLES).default('normal'))
    .option('--ttl <duration>', 'how long the token can be used, e.g. 30m, 24h', '24h')
    .option('--uses <n>', 'how many hosts may join with it (default: any number until it expires)')
    .action(async (flags: { dir: string; role: Role; ttl: string; uses?: string }) => {
      try {
        const cluster = await loadClusterPki(flags.dir)
        const store = new JoinTokenStore({ clock: systemClock }, { dir: join(cluster.dir, PKI_FILES.tokens) })
        const { token: text, summary } = await store.create({ role: flags.role, ttlMs: parseDurationMs(flags.ttl), uses: positiveInteger('--uses', flags.uses), pin: cluster.pin })
        process.stdout.write(`${text}\n`)
        process.stderr.write(`join token ${summary.id}: role ${summary.role}, expires ${summary.expiresAt}, ${summary.usesLeft ?? 'unlimited'} uses\n`)
      } catch (error) {
        fail('damselfly pki token create', error)
      }
    })
  token.command('list')
    .description('the tokens that can still be used (never their secrets)')
    .addOption(dirOption())
    .action(async (flags: { dir: string }) => {
      try {
        const store = new JoinTokenStore({ clock: systemClock }, { dir: join(flags.dir, PKI_FILES.tokens) })
        for (const summary of await store.list()) process.stdout.write(`${summary.id}\t${summary.role}\t${summary.expiresAt}\t${summary.usesLeft ?? 'unlimited'}\n`)
      } catch (error) {
        fail('damselfly pki token list', error)
      }
    })
  token.command('revoke')
    .description('delete a join token')
    .argument('<id>', 'the token id (the part after dfj1.)')
    .addOption(dirOption())
    .action(async (id: string, flags: { dir: string }) => {
      try {
        const store = new JoinTokenStore({ clock: systemClock }, { dir: join(flags.dir, PKI_FILES.tokens) })
        if (!(await store.revoke(id))) throw new DamselflyError('INVALID_ARGUMENT', `no join token ${id}`)
        process.stdout.write(`revoked join token ${id}\n`)
      } catch (error) {
        fail('damselfly pki token revoke', error)
      }
    })

  pki.command('issue')
    .description('certify a host directly, without a token (for provisioning tools); writes ca.crt, host.crt and host.key')
    .addOption(dirOption())
    .requiredOption('--out <dir>', 'where to write the identity (the host\'s security.identityDir)')
    .requiredOption('--ip <ip...>', 'the addresses the host announces')
    .addOption(new Option('--role <role>', 'what the host is').choices(HOST_ROLES).default('normal'))
    .option('--hostname <name>', 'the host\'s name', hostname())
    .option('--days <n>', 'validity in days', '365')
    .action(async (flags: { dir: string; out: string; ip: string[]; role: Role; hostname: string; days: string }) => {
      try {
        const cluster = await loadClusterPki(flags.dir)
        const local = await issueLocalIdentity(cluster.signer, {
          role: flags.role,
          hostname: certificateHostname(flags.hostname, 'host'),
          ips: flags.ip,
          validDays: positiveInteger('--days', flags.days) ?? 365,
        })
        await writeIdentity(flags.out, local)
        process.stdout.write(`wrote the identity of host ${local.identity.hostId} (${local.identity.role}) to ${flags.out}\n`)
      } catch (error) {
        fail('damselfly pki issue', error)
      }
    })
  return pki
}
