import { join } from 'node:path'
import { run } from './processes.js'
import { requireCommand } from './require-command.js'

/**
 * A self-signed RSA certificate and key from the openssl CLI, written as `<name>.crt` and
 * `<name>.key` in `dir`; `extension` is one `-addext` value (a SAN, or CA:TRUE for a signer).
 */
export async function selfSignedCertificate(dir: string, name: string, subject: string, extension: string): Promise<{ certPath: string; keyPath: string }> {
  requireCommand('openssl', 'openssl')
  const certPath = join(dir, `${name}.crt`)
  const keyPath = join(dir, `${name}.key`)
  const result = await run(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '7', '-keyout', keyPath, '-out', certPath, '-subj', subject, '-addext', extension],
    { timeoutMs: 30_000 },
  )
  if (result.code !== 0) throw new Error(`openssl req failed (${result.code}): ${result.stderr}`)
  return { certPath, keyPath }
}
