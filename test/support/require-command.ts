import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'

/**
 * Throws a clear error when `command` is not on PATH. Suites that need a system tool call this
 * so a missing tool fails the test (never skips it): `scripts/install-test-deps.sh` installs them all.
 */
export function requireCommand(command: string, debianPackage: string): void {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue
    try {
      accessSync(join(dir, command), constants.X_OK)
      return
    } catch {
      // not in this PATH entry; keep looking
    }
  }
  throw new Error(`\`${command}\` is not on PATH: install Debian's ${debianPackage} with \`bash scripts/install-test-deps.sh\` (as root)`)
}
