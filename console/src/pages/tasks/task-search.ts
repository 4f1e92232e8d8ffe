import { z } from 'zod'
import { taskJobArgs } from '@manager-jobs/job-args'
import { problemWith } from '../../api/validate'
import { manifestUrlOf } from './manifest-url-of'

/** How the tasks page looks for a task. */
export type SearchMode = 'task_id' | 'url' | 'image'

export const SEARCH_MODES: readonly { readonly value: SearchMode; readonly label: string }[] = [
  { value: 'task_id', label: 'Task ID' },
  { value: 'url', label: 'URL' },
  { value: 'image', label: 'Image' },
]

/** The search form's fields, as typed. */
export interface SearchForm {
  readonly mode: SearchMode
  readonly taskId: string
  readonly url: string
  readonly tag: string
  readonly application: string
  readonly filteredQueryParams: string
  readonly image: string
  readonly platform: string
  readonly username: string
  readonly password: string
}

export const EMPTY_SEARCH: SearchForm = {
  mode: 'task_id', taskId: '', url: '', tag: '', application: '', filteredQueryParams: '', image: '', platform: '', username: '', password: '',
}

/** The args of a get_task or delete_task job for the form's mode; blank fields are left out. */
export function taskArgsOf(form: SearchForm): Record<string, unknown> {
  const given = (entries: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(entries).map(([name, value]) => [name, value.trim()] as const).filter(([, value]) => value !== ''))
  switch (form.mode) {
    case 'task_id':
      return given({ task_id: form.taskId })
    case 'url':
      return given({ url: form.url, tag: form.tag, application: form.application, filtered_query_params: form.filteredQueryParams })
    case 'image':
      // A password is sent as typed: spaces may be part of it.
      return {
        type: 'image',
        ...given({ url: manifestUrlOf(form.image), platform: form.platform, username: form.username }),
        ...(form.password === '' ? {} : { password: form.password }),
      }
  }
}

/** The job body's shape, so a problem reads as the API words it: `body.args.url: ...`. */
const jobBody = z.object({ args: taskJobArgs })

/** What the API would refuse in the form, in its own words; undefined when it would take it. */
export function searchProblem(form: SearchForm): string | undefined {
  if (form.mode === 'task_id' && form.taskId.trim() === '') return 'body.args.task_id: give the task ID'
  if (form.mode === 'url' && form.url.trim() === '') return 'body.args.url: give the URL'
  if (form.mode === 'image' && form.image.trim() === '') return 'body.args.url: give the image'
  return problemWith(jobBody, { args: taskArgsOf(form) })
}
