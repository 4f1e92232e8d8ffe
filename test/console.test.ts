import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core'
import { silentLogger } from '../src/common/logger.js'
import { resolveManagerConfig } from '../src/manager/config.js'
import { Manager } from '../src/manager/manager.js'
import { taskIdFor } from '../src/protocol/task-id.js'
import { initClusterPki } from '../src/security/cluster-pki.js'
import { chromiumSkipReason, launchChromium, saveScreenshots } from './support/chromium.js'
import { MiB, tempDir } from './support/files.js'
import { generateImage, pushImage } from './support/oci-image.js'
import { makeRandomFile, OriginServer } from './support/origin-server.js'
import { ALLOW_LOOPBACK_ORIGINS, startDaemon, startScheduler, waitFor, type DaemonProcess } from './support/processes.js'
import { startRegistry, type RegistryProcess } from './support/registry.js'

const ROOT_PASSWORD = 'console-root-password-1'
const GUEST = { name: 'viewer', password: 'viewer-password-1' } as const
const REPO = 'library/console-demo'
const TAG = 'v1'
const PEERS = ['peer-0', 'peer-1', 'peer-2'] as const
const DAEMON_ENV = { ...ALLOW_LOOPBACK_ORIGINS, DFDAEMON_MANAGER_REFRESH_INTERVAL: '1s', DFDAEMON_MANAGER_SEED_PEER_KEEP_ALIVE_INTERVAL: '1s' }
/** Where the guide's screenshots live; every run overwrites them (docs/console.md shows them). */
const SHOTS = resolve(import.meta.dirname, '..', 'docs', 'console')
const CONSOLE_INDEX = resolve(import.meta.dirname, '..', 'dist', 'console', 'index.html')
/** How long a page may take to show what the API already answers: a render and a poll or two. */
const UI_MS = 15_000

/**
 * The console in a real browser (Debian's chromium, headless) against a real manager serving the
 * built console on its REST port, a scheduler, a seed peer and three daemons with certificates
 * from one cluster CA, a registry with an image and an HTTP origin. Each flow is what an operator
 * does, through the forms; the API is used only to set the stage (a guest user, a slow download).
 * Every page a flow visits is saved at a laptop's and a phone's width into docs/console/.
 */
describe('console: the pages in a browser, against a running cluster', { timeout: 240_000, skip: chromiumSkipReason() ?? false }, () => {
  let dir!: Awaited<ReturnType<typeof tempDir>>
  let registry!: RegistryProcess
  let origin!: OriginServer
  let manager!: Manager
  let browser!: Browser
  let rootContext!: BrowserContext
  let page!: Page
  let rootToken = ''
  let defaultClusterName = ''
  const peers: DaemonProcess[] = []
  /** Every address root's browser asked for. */
  const visited: string[] = []
  const stops: Array<() => Promise<void>> = []

  const rest = (): string => `http://${manager.address ?? ''}`

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the JSON it expects
  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
    const response = await fetch(`${rest()}${path}`, {
      method,
      headers: { ...(rootToken === '' ? {} : { authorization: `Bearer ${rootToken}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.text()
    return { status: response.status, json: (text === '' ? undefined : JSON.parse(text)) as T }
  }

  /** Opens a console address and waits for its page title (the single h1). */
  async function open(target: Page, path: string, title: string | RegExp): Promise<void> {
    await target.goto(`${rest()}${path}`)
    await heading(target, title)
  }

  async function heading(target: Page, title: string | RegExp): Promise<void> {
    await target.getByRole('heading', { level: 1, name: title }).waitFor({ timeout: UI_MS })
  }

  async function signIn(target: Page, name: string, password: string): Promise<void> {
    await open(target, '/signin', 'Damselfly')
    await target.getByLabel('Name', { exact: true }).fill(name)
    await target.getByLabel('Password', { exact: true }).fill(password)
    await target.getByRole('button', { name: 'Sign in' }).click()
    // Signed in: the frame of the console (its menu and the way out), on the first section.
    await target.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: UI_MS })
    assert.equal(new URL(target.url()).pathname, '/clusters')
  }

  /** Signs root in unless flow 1 already did: any one flow can run alone (`--test-name-pattern`). */
  async function asRoot(): Promise<void> {
    if ((await rootContext.cookies()).some((cookie) => cookie.name === 'damselfly_session')) return
    await signIn(page, 'root', ROOT_PASSWORD)
  }

  before(async () => {
    assert.ok(existsSync(CONSOLE_INDEX), `${CONSOLE_INDEX} is missing: run \`npm run build\` first`)
    dir = await tempDir('console')
    const pkiDir = join(dir.path, 'pki')
    await initClusterPki(pkiDir)
    registry = await startRegistry(join(dir.path, 'registry'))
    stops.push(() => registry.stop())
    const image = await generateImage(join(dir.path, 'image'), TAG, [2, 3])
    await pushImage(image.layoutDir, TAG, registry.host, REPO)
    origin = await OriginServer.start()
    stops.push(() => origin.close())

    manager = new Manager(resolveManagerConfig({
      flags: {
        server: { dataDir: join(dir.path, 'manager'), rest: { listenIP: '127.0.0.1', port: 0 }, grpc: { listenIP: '127.0.0.1', port: 0 } },
        keepalive: { interval: '1s', timeout: '4s' },
        security: { importPkiDir: pkiDir },
        auth: { rootPassword: ROOT_PASSWORD },
        // The registry is on loopback, which the manager refuses to resolve images from by default.
        preheat: { sourcePolicy: { allow: ['127.0.0.1/32'] } },
      },
    }), { logger: silentLogger() })
    await manager.start()
    stops.push(() => manager.stop())
    const managerGrpc = manager.grpcAddressBound ?? ''
    const scheduler = await startScheduler(join(dir.path, 'scheduler'), { SCHEDULER_MANAGER_ADDRS: managerGrpc, SCHEDULER_MANAGER_KEEP_ALIVE_INTERVAL: '1s', SCHEDULER_HOST_HOSTNAME: 'scheduler-0' }, { pkiDir })
    stops.push(() => scheduler.stop())
    const daemons = [
      startDaemon(join(dir.path, 'seed-0'), { cluster: { pkiDir }, args: ['--seed', '--manager', managerGrpc], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: 'seed-0' } }),
      ...PEERS.map((hostname) => startDaemon(join(dir.path, hostname), { cluster: { pkiDir }, args: ['--manager', managerGrpc], env: { ...DAEMON_ENV, DFDAEMON_HOST_HOSTNAME: hostname } })),
    ]
    peers.push(...await Promise.all(daemons))
    stops.push(async () => {
      await Promise.all(peers.map((daemon) => daemon.stop()))
    })

    const signedIn = await api<{ token: string }>('POST', '/api/v1/users/signin', { name: 'root', password: ROOT_PASSWORD })
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.json))
    rootToken = signedIn.json.token
    const guest = await api('POST', '/api/v1/users', { name: GUEST.name, password: GUEST.password, email: 'viewer@example.com', roles: ['guest'], must_change_password: false })
    assert.equal(guest.status, 201, JSON.stringify(guest.json))
    const defaultCluster = await manager.clusters.ensureDefault()
    defaultClusterName = defaultCluster.name
    await waitFor(async () => (await manager.hosts.list(defaultCluster.id)).length === 4, 'the scheduler to report the seed peer and the three daemons', 60_000)

    browser = await launchChromium()
    stops.push(() => browser.close())
    rootContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await rootContext.newPage()
    rootContext.on('request', (request) => visited.push(request.url()))
  }, { timeout: 120_000 })

  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined)
    await (dir as typeof dir | undefined)?.remove()
  })

  it('1. signs in as root, and keeps no secret in the browser but the HttpOnly session cookie', { timeout: 30_000 }, async () => {
    await open(page, '/signin', 'Damselfly')
    await saveScreenshots(page, SHOTS, 'signin')
    await signIn(page, 'root', ROOT_PASSWORD)
    await page.locator('.whoami').filter({ hasText: 'root' }).waitFor({ timeout: UI_MS })
    await page.getByRole('navigation', { name: 'main' }).getByRole('link', { name: 'Users' }).waitFor({ timeout: UI_MS })
    await assertNoSecretKept(page)
  })

  it('2. creates a cluster through the form and finds it in the list', { timeout: 40_000 }, async () => {
    await asRoot()
    await open(page, '/clusters', 'Clusters')
    await page.getByRole('table', { name: 'Clusters' }).getByRole('link', { name: defaultClusterName }).waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'clusters')
    await page.getByRole('link', { name: 'New cluster' }).click()
    await heading(page, 'New cluster')
    await page.getByLabel('Name', { exact: true }).fill('east')
    await page.getByLabel('Description', { exact: true }).fill('Hosts of the east data centre')
    await page.getByLabel('IDC', { exact: true }).fill('east-1')
    await page.getByLabel('CIDRs', { exact: true }).fill('10.1.0.0/16\n10.2.0.0/16')
    await page.getByLabel('Hostname patterns', { exact: true }).fill('^east-')
    await saveScreenshots(page, SHOTS, 'cluster-new')
    await page.getByRole('button', { name: 'Create cluster' }).click()
    await heading(page, 'east')

    await open(page, '/clusters', 'Clusters')
    await page.getByRole('table', { name: 'Clusters' }).getByRole('link', { name: 'east', exact: true }).waitFor({ timeout: UI_MS })
    const listed = await api<Array<{ name: string; scopes: { cidrs: string[]; hostnames: string[] } }>>('GET', '/api/v1/clusters?name=east')
    const east = listed.json.find((cluster) => cluster.name === 'east')
    assert.deepEqual(east?.scopes.cidrs, ['10.1.0.0/16', '10.2.0.0/16'], 'one CIDR per line')
    assert.deepEqual(east?.scopes.hostnames, ['^east-'])

    // The default cluster's tabs, with its scheduler, seed peer and hosts.
    await page.getByRole('table', { name: 'Clusters' }).getByRole('link', { name: defaultClusterName }).click()
    await heading(page, defaultClusterName)
    for (const [tab, table, name] of [['Schedulers', 'Schedulers', 'cluster-schedulers'], ['Seed peers', 'Seed peers', 'cluster-seed-peers'], ['Hosts', 'Hosts', 'cluster-hosts']] as const) {
      await page.getByRole('link', { name: tab, exact: true }).click()
      await page.getByRole('table', { name: table }).getByText(table === 'Schedulers' ? 'scheduler-0' : table === 'Seed peers' ? 'seed-0' : 'peer-2').first().waitFor({ timeout: UI_MS })
      await saveScreenshots(page, SHOTS, name)
    }
  })

  it('3. preheats an image from the registry through the form and sees it succeed', { timeout: 90_000 }, async () => {
    await asRoot()
    await open(page, '/jobs/preheats', 'Preheat')
    await saveScreenshots(page, SHOTS, 'preheats')
    await page.getByRole('link', { name: 'New preheat' }).click()
    await heading(page, 'New preheat')
    await page.getByLabel('Type', { exact: true }).selectOption('image')
    await page.getByLabel('URL', { exact: true }).fill(`${registry.url}/v2/${REPO}/manifests/${TAG}`)
    await page.getByLabel('Scope', { exact: true }).selectOption('all_peers')
    await page.getByRole('group', { name: 'Clusters' }).getByLabel(defaultClusterName, { exact: true }).check()
    await saveScreenshots(page, SHOTS, 'preheat-new')
    await page.getByRole('button', { name: 'Create preheat' }).click()
    await heading(page, /^Preheat \d+$/)
    await page.getByTestId('job-state').filter({ hasText: 'SUCCESS' }).waitFor({ timeout: 75_000 })
    await page.getByRole('table', { name: 'Hosts' }).getByText('peer-2').first().waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'preheat')
  })

  it('4. distributes a file to the three daemons through the form and sees every host reach 100%', { timeout: 90_000 }, async () => {
    await asRoot()
    const url = origin.serve('/release.bin', await makeRandomFile(join(dir.path, 'release.bin'), 8 * MiB))
    await open(page, '/jobs/distributions', 'Distribution')
    await saveScreenshots(page, SHOTS, 'distributions')
    await page.getByRole('link', { name: 'New distribution' }).click()
    await heading(page, 'New distribution')
    await page.getByLabel('Type', { exact: true }).selectOption('file')
    await page.getByLabel('URL', { exact: true }).fill(url)
    await page.getByLabel('Hosts', { exact: true }).fill(PEERS.join('\n'))
    await page.getByLabel('Bandwidth limit', { exact: true }).fill('4MiB')
    await saveScreenshots(page, SHOTS, 'distribution-new')
    await page.getByRole('button', { name: 'Start distribution' }).click()
    await heading(page, /^Distribution \d+$/)
    const hosts = page.getByRole('table', { name: 'Hosts' })
    for (const hostname of PEERS) await hosts.getByRole('row').filter({ hasText: hostname }).waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'distribution-running')
    await waitFor(async () => {
      const rows = await hosts.getByRole('row').filter({ hasText: /peer-\d/ }).all()
      const done = await Promise.all(rows.map((row) => row.getByRole('cell', { name: '100%', exact: true }).count()))
      return rows.length === PEERS.length && done.every((count) => count === 1)
    }, 'every host row to show 100%', 60_000)
    await page.getByTestId('job-state').filter({ hasText: 'SUCCESS' }).waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'distribution')
  })

  it('5. finds a running download\'s task and watches its swarm, peers and edges appearing; the cluster\'s overview counts the bytes from peers', { timeout: 90_000 }, async () => {
    await asRoot()
    // Slow enough (1 MiB/s per daemon) to still be running while the pages load.
    const url = origin.serve('/dataset.bin', await makeRandomFile(join(dir.path, 'dataset.bin'), 24 * MiB))
    const created = await api<{ id: number }>('POST', '/api/v1/jobs', { type: 'distribution', args: { type: 'file', url, hosts: [...PEERS], rate_limit: '1MiB' } })
    assert.equal(created.status, 200, JSON.stringify(created.json))
    const taskId = taskIdFor({ url })
    await waitFor(async () => {
      const rows = (await api<Array<{ completed_bytes: number }>>('GET', `/api/v1/jobs/${created.json.id}/hosts`)).json
      return rows.length === PEERS.length && rows.every((row) => row.completed_bytes > 0)
    }, 'every daemon to have started the download', 30_000)

    await open(page, '/tasks', 'Tasks')
    await page.getByLabel('Search by', { exact: true }).selectOption({ label: 'URL' })
    await page.getByLabel('URL', { exact: true }).fill(url)
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('table', { name: 'Hosts holding the task' }).getByText('peer-0').first().waitFor({ timeout: 30_000 })
    await saveScreenshots(page, SHOTS, 'tasks')
    const swarmLink = page.getByRole('link', { name: 'Swarm' }).first()
    assert.equal(await swarmLink.getAttribute('href'), `/tasks/${taskId}/swarm`)
    await swarmLink.click()
    await heading(page, 'Swarm')
    const graph = page.getByRole('img', { name: 'Swarm graph' })
    let counts = { peers: 0, edges: 0 }
    await waitFor(async () => {
      counts = { peers: await graph.locator('[data-peer-id]').count(), edges: await graph.locator('[data-edge]').count() }
      return counts.peers >= 1 + PEERS.length && counts.edges >= PEERS.length
    }, 'the seed peer and the three daemons, each daemon with a parent, in the swarm graph', 45_000).catch((error: unknown) => {
      throw new Error(`${String(error)}; the graph last had ${JSON.stringify(counts)}`)
    })
    const peerIds = new Set(await attributes(graph.locator('[data-peer-id]'), 'data-peer-id'))
    const edges = await attributes(graph.locator('[data-edge]'), 'data-edge')
    for (const edge of edges) {
      const [parent, child] = edge.split('->')
      assert.ok(parent !== undefined && child !== undefined && peerIds.has(parent) && peerIds.has(child), `edge ${edge} joins two peers of the graph`)
    }
    await page.getByRole('table', { name: 'Peers' }).getByText('seed-0').waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'swarm')
    const stopped = await api('POST', `/api/v1/jobs/${created.json.id}/stop`)
    assert.equal(stopped.status, 200)

    // The cluster's last hour now counts what the swarms moved between peers.
    await open(page, '/clusters', 'Clusters')
    await page.getByRole('table', { name: 'Clusters' }).getByRole('link', { name: defaultClusterName }).click()
    await heading(page, defaultClusterName)
    const fromPeers = page.locator('.stat').filter({ has: page.getByText('From peers', { exact: true }) })
    await fromPeers.waitFor({ timeout: UI_MS })
    await waitFor(async () => !/From peers\s*0 B/.test(await fromPeers.innerText()), 'the overview to count bytes from peers', UI_MS)
    await page.getByRole('img', { name: /Bytes per minute, last hour/ }).or(page.getByText('Bytes per minute, last hour')).first().waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'cluster-overview')
  })

  it('6. a guest sees no users page and cannot create a job: no Users entry, no New links, and the API\'s refusal in one line', { timeout: 60_000 }, async () => {
    const guestContext = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    try {
      const guest = await guestContext.newPage()
      await signIn(guest, GUEST.name, GUEST.password)
      const menu = guest.getByRole('navigation', { name: 'main' })
      await menu.getByRole('link', { name: 'Clusters' }).waitFor({ timeout: UI_MS })
      assert.equal(await menu.getByRole('link', { name: 'Users' }).count(), 0, 'no Users entry')
      assert.equal(await guest.getByRole('link', { name: 'New cluster' }).count(), 0, 'no New cluster link')
      await saveScreenshots(guest, SHOTS, 'guest-clusters')

      await open(guest, '/users', 'Users')
      await guest.getByText('You may not see this page.').waitFor({ timeout: UI_MS })
      assert.equal(await guest.getByRole('table').count(), 0, 'no users table')
      await saveScreenshots(guest, SHOTS, 'guest-users')

      await open(guest, '/jobs/preheats', 'Preheat')
      await guest.getByRole('table', { name: 'Preheat jobs' }).waitFor({ timeout: UI_MS })
      assert.equal(await guest.getByRole('link', { name: 'New preheat' }).count(), 0, 'no New preheat link')

      await open(guest, '/jobs/preheats/new', 'New preheat')
      await guest.getByLabel('Type', { exact: true }).selectOption('image')
      await guest.getByLabel('URL', { exact: true }).fill(`${registry.url}/v2/${REPO}/manifests/${TAG}`)
      await guest.getByRole('button', { name: 'Create preheat' }).click()
      const refusal = guest.getByRole('alert').filter({ hasText: 'may not' })
      await refusal.waitFor({ timeout: UI_MS })
      assert.equal((await refusal.innerText()).trim(), `${GUEST.name} may not write job`)
      await saveScreenshots(guest, SHOTS, 'guest-preheat-refused')
      const jobs = await api<unknown[]>('GET', `/api/v1/jobs?user_id=${String(await userId(GUEST.name))}`)
      assert.deepEqual(jobs.json, [], 'the guest made no job')
    } finally {
      await guestContext.close()
    }
  })

  it('7. shows root the account pages: users (with the guest), access tokens, the audit log and the profile', { timeout: 40_000 }, async () => {
    await asRoot()
    await open(page, '/users', 'Users')
    await page.getByRole('table', { name: 'Users' }).getByText(GUEST.name, { exact: true }).waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'users')
    await open(page, '/tokens', 'Access tokens')
    await page.getByRole('button', { name: 'New token' }).click()
    await page.getByLabel('Name', { exact: true }).fill('harbor')
    await page.getByLabel('Expires in days', { exact: true }).fill('30')
    await page.getByLabel('job', { exact: true }).check()
    await page.getByRole('button', { name: 'Create token' }).click()
    const secret = page.locator('.secret')
    await secret.waitFor({ timeout: UI_MS })
    const token = (await secret.innerText()).trim()
    assert.match(token, /^dfp_/, 'the token is shown once')
    await page.getByRole('table', { name: 'Tokens' }).getByText('harbor', { exact: true }).waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'tokens')
    await assertNoSecretKept(page, token)
    await open(page, '/profile', 'Profile')
    await open(page, '/tokens', 'Access tokens')
    await page.getByRole('table', { name: 'Tokens' }).getByText('harbor', { exact: true }).waitFor({ timeout: UI_MS })
    assert.equal(await page.locator('.secret').count(), 0, 'the secret is gone once the page is left')
    await open(page, '/audit', 'Audit log')
    // The cluster made through the form in flow 2 was audited as root's.
    await page.getByRole('table', { name: 'Audit log' }).getByText('root').first().waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'audit')
    await open(page, '/profile', 'Profile')
    await page.getByRole('link', { name: 'Change password' }).waitFor({ timeout: UI_MS })
    await saveScreenshots(page, SHOTS, 'profile')
  })

  /**
   * The browser holds no credential a script could read: the session is an HttpOnly cookie (not in
   * `document.cookie`), local and session storage are empty, and no address visited carried the
   * session or `secret`.
   */
  async function assertNoSecretKept(target: Page, secret?: string): Promise<void> {
    const session = (await rootContext.cookies()).find((cookie) => cookie.name === 'damselfly_session')
    assert.ok(session?.httpOnly === true, 'the session is an HttpOnly cookie')
    const scriptCookies: unknown = await target.evaluate('document.cookie')
    assert.equal(scriptCookies, '', 'script sees no cookie')
    const stored: unknown = await target.evaluate('window.localStorage.length + window.sessionStorage.length')
    assert.equal(stored, 0, 'nothing in the browser\'s storage')
    for (const url of visited) {
      assert.ok(!url.includes(session.value) && (secret === undefined || !url.includes(secret)), `no credential in the address ${url}`)
    }
  }

  async function attributes(elements: Locator, name: string): Promise<string[]> {
    return Promise.all((await elements.all()).map(async (element) => (await element.getAttribute(name)) ?? ''))
  }

  async function userId(name: string): Promise<number> {
    const users = await api<Array<{ id: number; name: string }>>('GET', `/api/v1/users?name=${name}`)
    const user = users.json.find((candidate) => candidate.name === name)
    assert.ok(user !== undefined, `user ${name} exists`)
    return user.id
  }
})
