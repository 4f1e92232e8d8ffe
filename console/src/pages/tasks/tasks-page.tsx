import { useState, type ReactNode, type SyntheticEvent } from 'react'
import { Link } from 'react-router'
import { api } from '../../api/client'
import { useSession } from '../../auth/session'
import { DataTable } from '../../components/data-table'
import { ErrorLine } from '../../components/error-line'
import { Field, SelectField } from '../../components/field'
import { formatTime } from '../../components/format'
import { PageHeader } from '../../components/layout'
import { StateBadge } from '../../components/state-badge'
import { allClusterIds } from './all-cluster-ids'
import { asTaskJob } from './task-job'
import { deletedRowsOf, holderCount, holderRowsOf, shortTaskId, tasksOf } from './task-rows'
import { EMPTY_SEARCH, SEARCH_MODES, searchProblem, taskArgsOf, type SearchForm, type SearchMode } from './task-search'
import { useTaskJob } from './use-task-job'

function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure)
}

/** The job's state while it runs or once it ended, with its error. */
function JobLine({ what, job, done }: { readonly what: string; readonly job: ReturnType<typeof useTaskJob>['job']; readonly done: boolean }) {
  if (job === undefined) return <p role="status">{what}…</p>
  return (
    <p role="status">
      {what} (job #{job.id}: <StateBadge state={job.state} />){done ? '' : '…'}
      {job.state === 'FAILURE' && job.error !== '' ? <span className="task-job-error"> {job.error}</span> : null}
    </p>
  )
}

/**
 * Finds which hosts hold a task (by task ID, by URL, or every blob of an image) with a get_task
 * job, and deletes it everywhere with a delete_task job.
 */
export function TasksPage() {
  const session = useSession()
  const [form, setForm] = useState<SearchForm>(EMPTY_SEARCH)
  const [formError, setFormError] = useState<string | undefined>(undefined)
  const [searchJobId, setSearchJobId] = useState<number | undefined>(undefined)
  const [deleteJobId, setDeleteJobId] = useState<number | undefined>(undefined)
  const [confirming, setConfirming] = useState(false)
  const [deleteError, setDeleteError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  // The args of the search whose results are shown: the delete names exactly the same tasks.
  const [searched, setSearched] = useState<{ args: Record<string, unknown>; clusterIds: number[] } | undefined>(undefined)
  const search = useTaskJob(searchJobId)
  const deletion = useTaskJob(deleteJobId)
  const canWrite = session.can('job', 'write')
  const set = (changes: Partial<SearchForm>): void => setForm({ ...form, ...changes })

  async function createJob(type: 'get_task' | 'delete_task', args: Record<string, unknown>, clusterIds: number[]): Promise<number> {
    const answer = await api.post('/api/v1/jobs', { body: { type, args, ...(clusterIds.length === 0 ? {} : { scheduler_cluster_ids: clusterIds }) } })
    return asTaskJob(answer).id
  }

  async function submit(event: SyntheticEvent) {
    event.preventDefault()
    const problem = searchProblem(form)
    setFormError(problem)
    if (problem !== undefined) return
    setBusy(true)
    try {
      const args = taskArgsOf(form)
      const clusterIds = await allClusterIds()
      const id = await createJob('get_task', args, clusterIds)
      setSearched({ args, clusterIds })
      setSearchJobId(id)
      setDeleteJobId(undefined)
      setConfirming(false)
      setDeleteError(undefined)
    } catch (failure) {
      setFormError(messageOf(failure))
    } finally {
      setBusy(false)
    }
  }

  async function deleteEverywhere() {
    if (searched === undefined) return
    setBusy(true)
    try {
      setDeleteJobId(await createJob('delete_task', searched.args, searched.clusterIds))
      setConfirming(false)
      setDeleteError(undefined)
    } catch (failure) {
      setDeleteError(messageOf(failure))
    } finally {
      setBusy(false)
    }
  }

  const tasks = tasksOf(search.done ? search.job : undefined)
  const deleted = deletedRowsOf(tasksOf(deletion.done ? deletion.job : undefined))
  const several = tasks.length > 1
  const searchFields: Record<SearchMode, ReactNode> = {
    task_id: <Field label="Task ID" value={form.taskId} onChange={(event) => set({ taskId: event.target.value })} hint="64 hex digits" spellCheck={false} autoComplete="off" />,
    url: (
      <>
        <Field label="URL" type="url" value={form.url} onChange={(event) => set({ url: event.target.value })} hint="as the download named it" />
        <div className="field-row">
          <Field label="Tag" value={form.tag} onChange={(event) => set({ tag: event.target.value })} />
          <Field label="Application" value={form.application} onChange={(event) => set({ application: event.target.value })} />
        </div>
        <Field label="Filtered query params" value={form.filteredQueryParams} onChange={(event) => set({ filteredQueryParams: event.target.value })} hint="names left out of the task ID, separated by &" />
      </>
    ),
    image: (
      <>
        <Field label="Image" value={form.image} onChange={(event) => set({ image: event.target.value })} hint="reg.example/library/alpine:3.19, or the manifest URL" spellCheck={false} autoComplete="off" />
        <Field label="Platform" value={form.platform} onChange={(event) => set({ platform: event.target.value })} hint="os/arch, linux/amd64 when empty" />
        <div className="field-row">
          <Field label="Username" value={form.username} onChange={(event) => set({ username: event.target.value })} autoComplete="off" />
          <Field label="Password" type="password" value={form.password} onChange={(event) => set({ password: event.target.value })} autoComplete="new-password" />
        </div>
      </>
    ),
  }

  return (
    <>
      <PageHeader title="Tasks" />
      <form className="card form" onSubmit={(event) => void submit(event)} noValidate>
        <SelectField label="Search by" value={form.mode} options={SEARCH_MODES} onChange={(mode) => set({ mode: mode as SearchMode })} />
        {searchFields[form.mode]}
        <ErrorLine message={formError} />
        <button type="submit" className="primary" disabled={busy}>Search</button>
      </form>

      {searchJobId === undefined ? null : (
        <section aria-label="Search results">
          <JobLine what="Searching every cluster" job={search.job} done={search.done} />
          <ErrorLine message={search.error} />
          {tasks.length === 0 ? null : (
            <ul className="task-list">
              {tasks.map((task) => (
                <li key={task.task_id}>
                  <code title={task.task_id}>{several ? shortTaskId(task.task_id) : task.task_id}</code>
                  {task.digest === undefined ? null : <span className="task-digest" title={task.digest}> {shortTaskId(task.digest)}</span>}
                  <span> · {holderCount(task)} {holderCount(task) === 1 ? 'host' : 'hosts'}</span>
                  {' · '}<Link to={`/tasks/${task.task_id}/swarm`} aria-label={several ? `Swarm of ${shortTaskId(task.task_id)}` : undefined}>Swarm</Link>
                </li>
              ))}
            </ul>
          )}
          {search.done ? (
            <DataTable
              caption="Hosts holding the task"
              rows={holderRowsOf(tasks)}
              rowKey={(row) => row.key}
              empty="No host holds it."
              columns={[
                ...(several ? [{ header: 'Task', cell: (row: ReturnType<typeof holderRowsOf>[number]) => <code title={row.taskId}>{shortTaskId(row.taskId)}</code> }] : []),
                { header: 'Host', cell: (row) => row.hostname },
                { header: 'IP', cell: (row) => row.ip },
                { header: 'Type', cell: (row) => row.hostType === 'super' ? 'seed' : 'normal' },
                { header: 'Cluster', cell: (row) => row.clusterId, numeric: true },
                { header: 'State', cell: (row) => <StateBadge state={row.state} /> },
                { header: 'Pieces', cell: (row) => row.pieces, numeric: true },
                { header: 'Updated', cell: (row) => formatTime(row.updatedAt) },
              ]}
            />
          ) : null}
          {search.done && canWrite && tasks.length > 0 ? (
            <div className="task-delete">
              {confirming ? (
                <div role="group" aria-label="Confirm delete" className="notice">
                  <p>Delete {several ? `these ${tasks.length} tasks` : 'this task'} from every host that holds {several ? 'them' : 'it'}, in every cluster? Hosts download {several ? 'them' : 'it'} again when asked.</p>
                  <button type="button" className="danger" onClick={() => void deleteEverywhere()} disabled={busy}>Confirm delete</button>{' '}
                  <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
                </div>
              ) : (
                <button type="button" className="danger" onClick={() => setConfirming(true)} disabled={busy || (deleteJobId !== undefined && !deletion.done)}>Delete everywhere</button>
              )}
              <ErrorLine message={deleteError} />
            </div>
          ) : null}
        </section>
      )}

      {deleteJobId === undefined ? null : (
        <section aria-label="Delete outcome">
          <JobLine what="Deleting everywhere" job={deletion.job} done={deletion.done} />
          <ErrorLine message={deletion.error} />
          {deletion.done ? (
            <DataTable
              caption="Delete outcome"
              rows={deleted}
              rowKey={(row) => row.key}
              empty="No host held it."
              columns={[
                ...(several ? [{ header: 'Task', cell: (row: (typeof deleted)[number]) => <code title={row.taskId}>{shortTaskId(row.taskId)}</code> }] : []),
                { header: 'Host', cell: (row) => row.hostname },
                { header: 'IP', cell: (row) => row.ip },
                { header: 'Cluster', cell: (row) => row.clusterId, numeric: true },
                { header: 'Outcome', cell: (row) => <StateBadge state={row.deleted ? 'deleted' : 'failed'} /> },
                { header: 'Reason', cell: (row) => row.description },
              ]}
            />
          ) : null}
        </section>
      )}
    </>
  )
}
