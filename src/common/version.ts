import { readFileSync } from 'node:fs'

/** The package version; the same file sits two levels up from both src/common and dist/common. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
