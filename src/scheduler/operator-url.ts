/**
 * A task's URL as operators see it (the swarm view, which anyone with `job` read may open):
 * scheme, host, port and path. Never the user info or the query, which may carry credentials (a
 * signed URL's signature, a token parameter) whatever the client chose to filter; '' when the
 * download's URL does not parse.
 */
export function operatorUrl(url: string): string {
  try {
    const parsed = new URL(url)
    return `${parsed.origin}${parsed.pathname}`
  } catch {
    return ''
  }
}
