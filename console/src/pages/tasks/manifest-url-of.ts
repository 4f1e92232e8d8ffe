/** Docker Hub's registry, where a reference without a registry host points, as the runtimes do. */
const DOCKER_HUB = 'https://registry-1.docker.io'

/**
 * The manifest URL of an image: a manifest URL is taken as it is; a reference such as
 * `reg.example/library/alpine:3.19`, `alpine` or `reg.example/app@sha256:...` becomes
 * `https://<registry>/v2/<name>/manifests/<tag or digest>`, as a runtime would ask for it
 * (Docker Hub and `library/` for a bare name, tag `latest` when none). The API checks the result.
 */
export function manifestUrlOf(image: string): string {
  const text = image.trim()
  if (/^https?:\/\//i.test(text) || text === '') return text
  const at = text.indexOf('@')
  const named = at === -1 ? text : text.slice(0, at)
  const digest = at === -1 ? undefined : text.slice(at + 1)
  const slash = named.indexOf('/')
  const first = slash === -1 ? '' : named.slice(0, slash)
  // The first component is a registry when it looks like a host: a dot, a port, or localhost.
  const hasRegistry = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost')
  const registry = hasRegistry ? `https://${first}` : DOCKER_HUB
  let path = hasRegistry ? named.slice(slash + 1) : named
  let tag = 'latest'
  const colon = path.lastIndexOf(':')
  if (colon !== -1) {
    tag = path.slice(colon + 1)
    path = path.slice(0, colon)
  }
  if (!hasRegistry && !path.includes('/')) path = `library/${path}`
  return `${registry}/v2/${path}/manifests/${digest ?? tag}`
}
