import { join } from 'node:path'
import type { Logger } from '../common/logger.js'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { certificateHostname, normalizeIp } from '../security/identity.js'
import { joinAny } from '../security/join-client.js'
import { readIdentity, writeIdentity, type LocalIdentity } from '../security/local-identity.js'
import type { DaemonConfig } from './config.js'

const JOIN_TIMEOUT_MS = 15_000

export function identityDirOf(config: DaemonConfig): string {
  return config.security.identityDir === '' ? join(config.storage.dir, 'identity') : config.security.identityDir
}

/**
 * This daemon's identity: the one in its identity directory, or one it gets by joining with its
 * join token on a start that finds none. Undefined when it runs --insecure (with a warning), or
 * without schedulers or managers and without an identity (a standalone daemon shares nothing). Fails with
 * CONFIG_INVALID when P2P needs an identity it does not have, or when the identity does not fit
 * this host: its address, or a seed role for a seed peer.
 */
export async function resolveHostIdentity(config: DaemonConfig, ip: string, logger: Logger): Promise<LocalIdentity | undefined> {
  if (config.security.insecure) {
    logger.warn('running WITHOUT an identity (--insecure): pieces go unauthenticated and unencrypted, and any host can fetch what this one stores')
    return undefined
  }
  const dir = identityDirOf(config)
  let local = await readIdentity(dir)
  if (local === undefined && config.security.joinToken !== '') {
    local = await joinCluster(config, ip)
    await writeIdentity(dir, local)
    logger.info({ hostId: local.identity.hostId, role: local.identity.role, identityDir: dir }, 'joined the cluster')
  }
  if (local === undefined) {
    if (config.scheduler.addrs.length === 0 && config.manager.addrs.length === 0) return undefined
    throw new DamselflyError('CONFIG_INVALID', `no host identity in ${dir}: join the cluster with --join-token <token> (from the manager's API, or \`damselfly pki token create\` where a scheduler holds the CA), or run with --insecure`)
  }
  const { identity } = local
  if (config.seedPeer.enable && identity.role !== 'seed') {
    throw new DamselflyError('CONFIG_INVALID', `seedPeer.enable needs a seed certificate; the one in ${dir} is for role ${identity.role} (join again with a seed token)`)
  }
  if (!identity.ips.includes(normalizeIp(ip))) {
    throw new DamselflyError('CONFIG_INVALID', `this host would announce ${ip}, but its certificate in ${dir} is for ${identity.ips.join(', ')}: set host.ip, or join again from this address`)
  }
  return local
}

/** Redeems the join token where the cluster CA is: at a manager when there is one, else at a scheduler. */
async function joinCluster(config: DaemonConfig, ip: string): Promise<LocalIdentity> {
  const addresses = config.manager.addrs.length > 0 ? config.manager.addrs : config.scheduler.addrs
  if (addresses.length === 0) throw new DamselflyError('CONFIG_INVALID', 'security.joinToken needs manager.addrs or scheduler.addrs: the token is redeemed where the cluster CA is')
  return joinAny(addresses, { token: config.security.joinToken, hostname: certificateHostname(config.host.hostname, 'host'), ips: [ip], timeoutMs: JOIN_TIMEOUT_MS })
}
