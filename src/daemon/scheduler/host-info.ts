import { networkInterfaces } from 'node:os'

/** The address peers reach this host at: the configured one, else the first external IPv4, else loopback. */
export function advertisedIp(configured: string): string {
  if (configured !== '') return configured
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === 'IPv4' && !address.internal) return address.address
    }
  }
  return '127.0.0.1'
}
