import { hostname } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { defaultDataDir } from '../daemon/paths.js'
import { advertisedIp } from '../daemon/scheduler-client/host-info.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { certificateHostname } from '../security/identity.js'
import { joinCluster } from '../security/join-client.js'
import { readIdentity, writeIdentity } from '../security/local-identity.js'
import { fail } from './exit.js'

interface JoinFlags {
  scheduler: string
  token: string
  dir: string
  ip?: string[]
  hostname: string
  force?: boolean
}

/** `damselfly join`: trade a join token for this host's identity, before its daemon first starts. */
export function joinCommand(): Command {
  return new Command('join')
    .description('join a cluster: get this host\'s certificate from a scheduler with a join token')
    .requiredOption('--scheduler <host:port>', 'a scheduler of the cluster')
    .requiredOption('--token <token>', 'the join token (damselfly pki token create prints one)')
    .option('--dir <path>', 'where to keep the identity (dfdaemon security.identityDir)', join(defaultDataDir(), 'identity'))
    .option('--ip <ip...>', 'the addresses this host announces (default: its first external IPv4)')
    .option('--hostname <name>', 'this host\'s name', hostname())
    .option('--force', 'replace an identity that is already there')
    .action(async (flags: JoinFlags) => {
      try {
        if (flags.force !== true && (await readIdentity(flags.dir).catch(() => undefined)) !== undefined) {
          throw new DamselflyError('INVALID_ARGUMENT', `${flags.dir} already holds an identity; pass --force to replace it`)
        }
        const local = await joinCluster({
          address: flags.scheduler,
          token: flags.token,
          hostname: certificateHostname(flags.hostname, 'host'),
          ips: flags.ip ?? [advertisedIp('', '')],
          timeoutMs: 15_000,
        })
        await writeIdentity(flags.dir, local)
        process.stdout.write(`joined as host ${local.identity.hostId} (${local.identity.role}, ${local.identity.ips.join(', ')}); identity in ${flags.dir}\n`)
      } catch (error) {
        fail('damselfly join', error)
      }
    })
}
