import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command } from 'commander'
import { createCertificateAuthority } from '../security/x509.js'
import { fail } from './exit.js'

interface CaFlags {
  out: string
  name: string
  days: string
}

/** `damselfly ca create`: a CA for TLS interception (proxy.hijackHTTPS); clients must trust ca.crt. */
export function caCommand(): Command {
  const ca = new Command('ca').description('certificate authority for intercepting HTTPS registries')
  ca.command('create')
    .description('write ca.crt and ca.key (ECDSA P-256) for proxy.hijackHTTPS')
    .option('--out <dir>', 'where to write them', '.')
    .option('--name <cn>', 'common name of the CA', 'Damselfly Proxy CA')
    .option('--days <n>', 'validity in days', '3650')
    .action(async (flags: CaFlags) => {
      try {
        const days = Number(flags.days)
        if (!Number.isInteger(days) || days < 1) throw new Error(`--days must be a positive integer, got ${JSON.stringify(flags.days)}`)
        const { certPem, keyPem } = await createCertificateAuthority({ commonName: flags.name, validDays: days })
        await mkdir(flags.out, { recursive: true })
        await writeFile(join(flags.out, 'ca.crt'), certPem, { mode: 0o644 })
        await writeFile(join(flags.out, 'ca.key'), keyPem, { mode: 0o600, flag: 'wx' }).catch((error: unknown) => {
          throw (error as NodeJS.ErrnoException).code === 'EEXIST' ? new Error(`${join(flags.out, 'ca.key')} exists; remove it first or choose another --out`) : error
        })
        process.stdout.write(`wrote ${join(flags.out, 'ca.crt')} and ${join(flags.out, 'ca.key')} (keep the key private; clients must trust ca.crt)\n`)
      } catch (error) {
        fail('damselfly ca create', error)
      }
    })
  return ca
}
