import { createCertificateAuthority, loadCaSigner, type CaSigner } from './x509.js'
import { issueLocalIdentity, type LocalIdentity } from './local-identity.js'
import type { Role } from './identity.js'

// For tests only (excluded from the build as a *-fixtures.ts file).

/** A fresh cluster CA, able to sign. */
export async function testCa(commonName = 'Test Cluster CA'): Promise<CaSigner> {
  const { certPem, keyPem } = await createCertificateAuthority({ commonName, validDays: 30 })
  return loadCaSigner(certPem, keyPem)
}

/** An identity of `role` from `ca`, for hostname `host-<role>` at 127.0.0.1. */
export function testIdentity(ca: CaSigner, role: Role, ips: readonly string[] = ['127.0.0.1']): Promise<LocalIdentity> {
  return issueLocalIdentity(ca, { role, hostname: `host-${role}`, ips })
}
