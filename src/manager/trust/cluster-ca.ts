import type { Clock } from '../../common/clock.js'
import { DamselflyError } from '../../protocol/damselfly-error.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PKI_FILES } from '../../security/cluster-pki.js'
import { certificatePin, createCertificateAuthority, fromPem, loadCaSigner, type CaSigner } from '../../security/x509.js'
import type { ManagerDatabase } from '../db/database.js'
import { isUniqueViolation } from '../db/insert.js'

const CA_ROW_ID = 1
const CA_VALID_DAYS = 3650

/** The cluster CA as the manager holds it: the signer and the pin join tokens carry. */
export interface ManagerCa {
  readonly signer: CaSigner
  readonly pin: string
}

/**
 * The cluster CA from the database, made on the first start of the first manager: imported from
 * `importDir` when that holds a CA (a cluster whose scheduler made one before a manager ran),
 * otherwise new. Several managers starting at once end with one CA: the row's key decides.
 */
export async function loadOrCreateClusterCa(components: { database: ManagerDatabase; clock: Clock }, init: { importDir?: string }): Promise<{ ca: ManagerCa; created: 'new' | 'imported' | false }> {
  const { db } = components.database
  const existing = await db.selectFrom('cluster_ca').selectAll().where('id', '=', CA_ROW_ID).executeTakeFirst()
  if (existing !== undefined) return { ca: await toCa(existing.cert_pem, existing.key_pem), created: false }
  const imported = init.importDir === undefined ? undefined : await readCaFiles(init.importDir)
  const { certPem, keyPem } = imported ?? await createCertificateAuthority({ commonName: 'Damselfly Cluster CA', validDays: CA_VALID_DAYS, nowMs: components.clock.nowMs() })
  try {
    await db.insertInto('cluster_ca').values({ id: CA_ROW_ID, cert_pem: certPem, key_pem: keyPem, created_at_ms: components.clock.nowMs() }).execute()
  } catch (error) {
    if (!isUniqueViolation(error)) throw error
    return loadOrCreateClusterCa(components, init)
  }
  return { ca: await toCa(certPem, keyPem), created: imported !== undefined ? 'imported' : 'new' }
}

/** The CA files in a PKI directory, when both are there. */
async function readCaFiles(dir: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  const read = (name: string): Promise<string | undefined> => readFile(join(dir, name), 'utf8').catch(() => undefined)
  const [certPem, keyPem] = await Promise.all([read(PKI_FILES.caCert), read(PKI_FILES.caKey)])
  return certPem === undefined || keyPem === undefined ? undefined : { certPem, keyPem }
}

async function toCa(certPem: string, keyPem: string): Promise<ManagerCa> {
  try {
    const signer = await loadCaSigner(certPem, keyPem)
    return { signer, pin: certificatePin(fromPem(signer.certPem)) }
  } catch (cause) {
    throw new DamselflyError('CONFIG_INVALID', `the cluster CA in the database is unusable: ${(cause as Error).message}`, { cause })
  }
}
