import { networkInterfaces } from 'node:os'

const ANY_ADDRESS = new Set(['', '0.0.0.0', '::'])

/**
 * The address peers reach this host at: `host.ip` when set, else the address the upload server
 * binds when it binds one, else the first external IPv4, else loopback.
 */
export function advertisedIp(configured: string, uploadBindIp: string): string {
  if (configured !== '') return configured
  if (!ANY_ADDRESS.has(uploadBindIp)) return uploadBindIp
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address
    }
  }
  return '127.0.0.1'
}
