import { createHash, generateKeyPairSync, type KeyObject, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { networkInterfaces } from 'node:os'
import { DamselflyError } from '../protocol/damselfly-error.js'
import type { HostId } from '../protocol/ids.js'
import { importEcPublicKey, loadX509, signLeaf, type CaSigner } from './x509.js'

/**
 * What a certificate lets its holder be. A `seed` host fetches from the source for others, so only
 * it is sent clients' credentials and only its digests become authoritative; a `normal` host
 * downloads and serves; a `scheduler` schedules and signs capabilities; a `manager` holds the
 * cluster CA, registers schedulers and seed peers and tells daemons where the schedulers are.
 */
export const ROLES = ['scheduler', 'seed', 'normal', 'manager'] as const

/** The roles a joining host may be given: a manager certifies itself. */
export const JOIN_ROLES = ['scheduler', 'seed', 'normal'] as const satisfies readonly Role[]
export type Role = (typeof ROLES)[number]

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

/** Who a certificate says its holder is: bound by the cluster CA, read from the certificate. */
export interface HostIdentity {
  /** Derived from the public key, so nobody without the key can hold the id. */
  readonly hostId: HostId
  readonly role: Role
  readonly hostname: string
  /** The addresses the host may announce. */
  readonly ips: readonly string[]
  /** Its public key, SubjectPublicKeyInfo DER: a capability binds it, so only this host can use one. */
  readonly publicKeySpki: Buffer
}

const HOST_URI_PREFIX = 'urn:damselfly:host:'
const ORGANIZATION = 'Damselfly'
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,251}[A-Za-z0-9])?$/
const MAX_IPS = 16
export const HOST_CERT_VALID_DAYS = 365

/** The host id a key gives: the first 32 hex digits of the sha256 of its SubjectPublicKeyInfo. */
export function hostIdOfKey(spkiDer: Uint8Array): HostId {
  return createHash('sha256').update(spkiDer).digest('hex').slice(0, 32) as HostId
}

/** A machine's name as a certificate may carry it: other characters become dashes. */
export function certificateHostname(name: string, fallback: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 253)
  return HOSTNAME.test(cleaned) ? cleaned : fallback
}

/** Checks what a certificate will bind; INVALID_ARGUMENT naming the first problem. */
export function validateIdentityRequest(request: { hostname: string; ips: readonly string[] }): void {
  if (!HOSTNAME.test(request.hostname)) {
    throw new DamselflyError('INVALID_ARGUMENT', `hostname ${JSON.stringify(request.hostname.slice(0, 80))} must be letters, digits, dots, dashes and underscores`)
  }
  if (request.ips.length === 0 || request.ips.length > MAX_IPS) throw new DamselflyError('INVALID_ARGUMENT', `a host names 1 to ${MAX_IPS} addresses, got ${request.ips.length}`)
  for (const ip of request.ips) {
    if (isIP(ip) === 0) throw new DamselflyError('INVALID_ARGUMENT', `${JSON.stringify(ip.slice(0, 80))} is not an IP address`)
  }
}

/**
 * Issues a certificate binding `role`, the host id of `publicKeySpki`, the hostname and the
 * addresses. It serves as both TLS server and client certificate: every host is both.
 */
export async function issueHostCertificate(
  ca: CaSigner,
  request: { role: Role; publicKeySpki: Uint8Array; hostname: string; ips: readonly string[]; validDays?: number; nowMs?: number },
): Promise<{ certPem: string; identity: HostIdentity }> {
  validateIdentityRequest(request)
  const publicKey = await importEcPublicKey(request.publicKeySpki)
  const hostId = hostIdOfKey(request.publicKeySpki)
  const x509 = await loadX509()
  const certPem = await signLeaf(ca, {
    subject: `CN=${request.hostname}, OU=${request.role}, O=${ORGANIZATION}`,
    publicKey,
    validDays: request.validDays ?? HOST_CERT_VALID_DAYS,
    ...(request.nowMs === undefined ? {} : { nowMs: request.nowMs }),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: `${HOST_URI_PREFIX}${hostId}` },
        ...request.ips.map((ip) => ({ type: 'ip' as const, value: ip })),
      ]),
    ],
  })
  return { certPem, identity: { hostId, role: request.role, hostname: request.hostname, ips: [...request.ips], publicKeySpki: Buffer.from(request.publicKeySpki) } }
}

function subjectField(subject: string, key: string): string[] {
  return subject.split('\n').filter((line) => line.startsWith(`${key}=`)).map((line) => line.slice(key.length + 1))
}

/**
 * The identity a Damselfly certificate carries, or undefined when it carries none (another CA's
 * certificate, a hand-made one). Says nothing about who signed it: TLS or `leafProblem` checks that.
 */
export function identityOf(cert: X509Certificate): HostIdentity | undefined {
  const [role, ...otherRoles] = subjectField(cert.subject, 'OU')
  const [hostname] = subjectField(cert.subject, 'CN')
  if (role === undefined || otherRoles.length > 0 || !isRole(role) || hostname === undefined) return undefined
  if (!subjectField(cert.subject, 'O').includes(ORGANIZATION)) return undefined
  const names = (cert.subjectAltName ?? '').split(', ')
  const uris = names.filter((name) => name.startsWith('URI:')).map((name) => name.slice(4))
  const ips = names.filter((name) => name.startsWith('IP Address:')).map((name) => name.slice(11))
  const hostUris = uris.filter((uri) => uri.startsWith(HOST_URI_PREFIX))
  if (hostUris.length !== 1) return undefined
  const hostId = hostUris[0]?.slice(HOST_URI_PREFIX.length) ?? ''
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' })
  // The id must be the key's own: a certificate cannot lend one host's id to another key.
  if (hostId !== hostIdOfKey(spki)) return undefined
  return { hostId: hostId as HostId, role, hostname, ips: ips.map(normalizeIp), publicKeySpki: spki }
}

/** Node prints IPv6 SANs in full; compare addresses in one form. */
export function normalizeIp(ip: string): string {
  if (isIP(ip) !== 6) return ip
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1)
  } catch {
    return ip
  }
}

/** A new ECDSA P-256 key pair for a host, as Node key objects. */
export function generateHostKey(): { privateKey: KeyObject; publicKeySpki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { privateKey, publicKeySpki: publicKey.export({ type: 'spki', format: 'der' }) }
}

/** Parses a PEM certificate, or throws INVALID_ARGUMENT naming `what`. */
export function parseCertificate(pem: string | Buffer, what: string): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch (cause) {
    throw new DamselflyError('INVALID_ARGUMENT', `${what} is not a certificate`, { cause })
  }
}

const ANY_ADDRESS = new Set(['0.0.0.0', '::', ''])

/**
 * The addresses the certificate of a server process (scheduler, manager) names: the ones it is
 * configured with, loopback and this machine's external IPv4 addresses. Clients check a server's
 * role, not its address, so these only help other tools.
 */
export function certificateAddresses(server: { listenIP: string; advertiseIP: string }): string[] {
  const named = [server.advertiseIP, server.listenIP].filter((ip) => isIP(ip) !== 0 && !ANY_ADDRESS.has(ip))
  const external = Object.values(networkInterfaces()).flat().filter((address) => address !== undefined && !address.internal && address.family === 'IPv4')
  return [...new Set([...named, '127.0.0.1', ...external.map((address) => address?.address ?? '')])].filter((ip) => ip !== '').slice(0, MAX_IPS)
}
