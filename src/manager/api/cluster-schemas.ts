import { z } from 'zod'
import { cidr, regex } from './input-schemas.js'

// The console checks its cluster form with these same schemas: nothing here may need Node.

const text = z.string().max(1024)
const list = <T extends z.ZodType>(item: T): z.ZodArray<T> => z.array(item).max(256)

/** Validated here, before the repository applies its defaults: CIDRs parse, hostname regexes compile. */
const scopes = z.object({ idc: text.optional(), location: text.optional(), cidrs: list(cidr).optional(), hostnames: list(regex).optional() })

/** Each section's fields, every one optional: a creation fills the gaps with defaults, a PATCH keeps the current values. */
const sections = {
  scheduler_cluster_config: z.object({
    candidate_parent_limit: z.number().int().min(1).max(20).optional(),
    filter_parent_limit: z.number().int().min(1).max(1000).optional(),
    job_rate_limit: z.number().int().min(1).max(1_000_000).optional(),
  }).optional(),
  seed_peer_cluster_config: z.object({ load_limit: z.number().int().min(1).max(100_000).optional() }).optional(),
  peer_cluster_config: z.object({ load_limit: z.number().int().min(1).max(100_000).optional() }).optional(),
  blocklist: z.object({ applications: list(text).optional(), urls: list(regex).optional(), tags: list(text).optional() }).optional(),
}

export const clusterName = z.string().min(1).max(255).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, and . _ - after the first')

/** `POST /api/v1/clusters`: a name; the rest takes Dragonfly's defaults when left out. */
export const newClusterBody = z.object({ name: clusterName, bio: text.default(''), scopes: scopes.default({}), ...sections })

/** `PATCH /api/v1/clusters/:id`: only what changes; configuration sections merge field by field. */
export const clusterPatchBody = z.object({ name: clusterName.optional(), bio: text.optional(), scopes: scopes.optional(), ...sections })
