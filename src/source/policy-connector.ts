import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { buildConnector } from 'undici'
import { DamselflyError } from '../protocol/damselfly-error.js'
import { describeRefusal, type AddressPolicy, type AddressRefusal } from './address-policy.js'

/** Resolves every address of a name, as `dns.lookup` with `all: true` does. */
export type ResolveAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void

export interface PolicyConnectorComponents {
  readonly policy: AddressPolicy
  /** `dns.lookup` unless a test resolves names itself. */
  readonly resolve?: ResolveAll
}

function refusedError(refusal: AddressRefusal, host: string, policy: AddressPolicy): DamselflyError {
  return new DamselflyError('SOURCE_NOT_ALLOWED', describeRefusal(refusal, host, policy.allowKey))
}

/**
 * An undici connector that opens sockets only to addresses the policy allows. Node's
 * `net.connect` resolves a name through the `lookup` it is given, so every answer is checked
 * right before the socket connects to it: a name resolving to a refused address, a DNS answer
 * that changed since the last connection, and every redirect hop are all caught. Node skips
 * `lookup` for IP literals, so those are checked before connecting. A name with any refused
 * address is refused as a whole. A refusal fails the connect with SOURCE_NOT_ALLOWED and no
 * packet is sent to the refused address.
 */
export function policyConnector(components: PolicyConnectorComponents, options: buildConnector.BuildOptions): buildConnector.connector {
  const { policy } = components
  const resolve: ResolveAll = components.resolve ?? ((hostname, lookupOptions, callback) => {
    dnsLookup(hostname, lookupOptions, callback)
  })
  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    resolve(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error !== null) {
        callback(error, '')
        return
      }
      let refusal: AddressRefusal | undefined
      try {
        refusal = addresses.map((answer) => policy.check(answer.address)).find((found) => found !== undefined)
      } catch (cause) {
        callback(new DamselflyError('SOURCE_NOT_ALLOWED', `${hostname} resolved to something that is not an IP address`, { cause }), '')
        return
      }
      const first = addresses[0]
      if (refusal !== undefined) callback(refusedError(refusal, hostname, policy), '')
      else if (lookupOptions.all === true) callback(null, addresses)
      else if (first === undefined) callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '')
      else callback(null, first.address, first.family)
    })
  }
  const connect = buildConnector({ ...options, lookup })
  return (connectOptions, callback) => {
    // undici hands IPv6 literals over without their brackets; the check does not rely on it.
    const host = connectOptions.hostname.replace(/^\[(.*)\]$/, '$1')
    const refusal = isIP(host) === 0 ? undefined : policy.check(host)
    if (refusal === undefined) {
      connect(connectOptions, callback)
      return
    }
    const error = refusedError(refusal, host, policy)
    // undici expects the callback after connect returns, as a socket's error event would come.
    queueMicrotask(() => callback(error, null))
  }
}
