import { z } from 'zod'

// The console validates its forms with these same schemas: nothing here may need Node.

/** A positive integer id in a path or query: digits only, within a 32-bit column. */
export const idText = z.string().regex(/^[1-9][0-9]{0,9}$/, 'must be a positive integer').transform(Number).pipe(z.number().int().max(2_147_483_647))

export const idParams = z.object({ id: idText })

/** An integer in a query string, within bounds. */
export function queryInt(min: number, max: number): z.ZodPipe<z.ZodPipe<z.ZodString, z.ZodTransform<number, string>>, z.ZodNumber> {
  return z.string().regex(/^[0-9]{1,10}$/, 'must be an integer').transform(Number).pipe(z.number().int().min(min).max(max))
}

/** Dragonfly's paging: `page` from 1, `per_page` items on it. */
export const pagingQuery = z.object({
  page: queryInt(1, 1_000_000).default(1),
  per_page: queryInt(1, 1000).default(10),
})

/** An RFC 3339 time with its offset, as milliseconds since the epoch. */
export const rfc3339 = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text))

/** An RFC 3339 time for a response. */
export function toRfc3339(ms: number): string {
  return new Date(ms).toISOString()
}

export const name = z.string().min(1).max(255).regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'letters, digits, and . _ @ - after the first')

/** A new password: long enough to resist guessing at the sign-in rate limit, short enough to hash cheaply. */
export const newPassword = z.string().min(8, 'must be at least 8 characters').max(1024)

/** An address block `a.b.c.d/n` or `x::/n`. */
export const cidr = z.string().max(64).refine((text) => {
  const [address, bits, ...rest] = text.split('/')
  if (address === undefined || bits === undefined || rest.length > 0 || !/^[0-9]{1,3}$/.test(bits)) return false
  // zod's own address checks, not node:net: the console runs these rules in the browser too.
  if (z.ipv4().safeParse(address).success) return Number(bits) <= 32
  return z.ipv6().safeParse(address).success && Number(bits) <= 128
}, 'must be an address block such as 10.0.0.0/8')

/** A regular expression JavaScript accepts. */
export const regex = z.string().min(1).max(1024).refine((text) => {
  try {
    new RegExp(text)
    return true
  } catch {
    return false
  }
}, 'must be a valid regular expression')
