import type { Job } from '../../api/types'

/** The URLs a download job fetches, as stored in its `args.urls`. */
export function jobUrlList(job: Pick<Job, 'args'>): string[] {
  const urls: unknown = job.args['urls']
  return Array.isArray(urls) ? urls.filter((url): url is string => typeof url === 'string') : []
}

/** What a download job fetches, in one line: its URL, or the first and how many more. */
export function jobUrls(job: Pick<Job, 'args'>): string {
  const urls = jobUrlList(job)
  const [first] = urls
  if (first === undefined) return ''
  return urls.length === 1 ? first : `${first} and ${urls.length - 1} more`
}
