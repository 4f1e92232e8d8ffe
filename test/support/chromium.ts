import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'

/** Debian's chromium, which `scripts/install-test-deps.sh` installs; never a browser downloaded by playwright. */
export const CHROMIUM_PATH = '/usr/bin/chromium'

/**
 * Why the browser suites skip, or undefined when they run. Only a developer's machine without
 * chromium skips; in CI (`CI=true`) the suites run and fail at launch, so a broken image is seen.
 */
export function chromiumSkipReason(path = CHROMIUM_PATH, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (existsSync(path)) return undefined
  if (env['CI'] === 'true') return undefined
  return `${path} is missing: install Debian's chromium with \`bash scripts/install-test-deps.sh\` (as root) to run the console's browser tests`
}

/**
 * Starts headless chromium. playwright's `launch` gives every browser a fresh temporary profile
 * (user-data dir) and removes it on `close()`, so no cookie or cache carries over between runs.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing (CI=true, so this fails instead of skipping): install it with \`bash scripts/install-test-deps.sh\``)
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** The two widths every page is checked and shown at: a laptop and a phone. */
export const SCREEN_SIZES = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
] as const

/**
 * Saves what the page shows (the viewport, not the whole page, to keep the files small) at each of
 * SCREEN_SIZES as `<dir>/<name>-<width>.png`, overwriting the last run's, then returns to the
 * first size.
 */
export async function saveScreenshots(page: Page, dir: string, name: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  for (const size of SCREEN_SIZES) {
    await page.setViewportSize(size)
    await page.screenshot({ path: join(dir, `${name}-${size.width}.png`), animations: 'disabled', caret: 'hide' })
  }
  await page.setViewportSize(SCREEN_SIZES[0])
}
