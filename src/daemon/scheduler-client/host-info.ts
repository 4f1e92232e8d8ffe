import { readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'

const ANY_ADDRESS = new Set(['', '0.0.0.0', '::'])
const BITS_PER_BYTE = 8
const BITS_PER_MBIT = 1_000_000

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

/** A network interface's speed as Linux reports it, in Mbit/s; undefined where it has none (loopback, most virtual NICs). */
export function linkSpeedMbitPerSecond(interfaceName: string): number | undefined {
  try {
    const speed = Number.parseInt(readFileSync(`/sys/class/net/${interfaceName}/speed`, 'utf8'), 10)
    return Number.isSafeInteger(speed) && speed > 0 ? speed : undefined
  } catch {
    return undefined
  }
}

/**
 * What this host can upload per second, as it tells the scheduler: its uplink (`upload.capacity`
 * when set, else the speed of the interface that holds `ip`), or the upload rate limit when one is
 * set and lower; 0 when neither is known. `interfaces` and `speedOf` are the system's unless a
 * test gives its own.
 */
export function uploadCapacityBytesPerSecond(
  upload: { readonly rateLimit: number; readonly capacity: number },
  ip: string,
  system: { interfaces?: ReturnType<typeof networkInterfaces>; speedOf?: (interfaceName: string) => number | undefined } = {},
): number {
  const linkBytesPerSecond = upload.capacity > 0 ? upload.capacity : interfaceBytesPerSecond(ip, system)
  if (upload.rateLimit > 0 && (linkBytesPerSecond === 0 || upload.rateLimit < linkBytesPerSecond)) return upload.rateLimit
  return linkBytesPerSecond
}

/** The speed of the interface that holds `ip`, in bytes per second; 0 when unknown. */
function interfaceBytesPerSecond(
  ip: string,
  system: { interfaces?: ReturnType<typeof networkInterfaces>; speedOf?: (interfaceName: string) => number | undefined },
): number {
  const interfaces = system.interfaces ?? networkInterfaces()
  const name = Object.entries(interfaces).find(([, addresses]) => addresses?.some((address) => address.address === ip))?.[0]
  const speedMbit = name === undefined ? undefined : (system.speedOf ?? linkSpeedMbitPerSecond)(name)
  return speedMbit === undefined ? 0 : (speedMbit * BITS_PER_MBIT) / BITS_PER_BYTE
}
