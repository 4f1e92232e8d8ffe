import { useState, type ChangeEvent, type SyntheticEvent } from 'react'
import { useNavigate } from 'react-router'
import { api } from '../../api/client'
import type { Checked } from './checked-job-body'

/** The form's free-text fields. */
type TextKey<F> = { [K in keyof F]: string extends F[K] ? K : never }[keyof F]

export interface JobForm<F> {
  readonly form: F
  /** Sets one field. */
  readonly set: <K extends keyof F>(key: K) => (value: F[K]) => void
  /** `value` and `onChange` for a free-text input or text area. */
  readonly text: (key: TextKey<F>) => { value: F[TextKey<F>]; onChange: (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => void }
  readonly error: string | undefined
  readonly busy: boolean
  /** Checks the form with the API's own schemas, creates the job, and opens it under `detailPath`. */
  readonly submit: (event: SyntheticEvent) => Promise<void>
}

/** The state and submission a new preheat and a new distribution share. */
export function useJobForm<F>(empty: F, build: (form: F) => Checked, detailPath: string): JobForm<F> {
  const navigate = useNavigate()
  const [form, setForm] = useState<F>(empty)
  const [error, setError] = useState<string | undefined>(undefined)
  const [busy, setBusy] = useState(false)
  const set = <K extends keyof F>(key: K) => (value: F[K]): void => setForm((previous) => ({ ...previous, [key]: value }))
  const text = (key: TextKey<F>) => ({ value: form[key], onChange: (event: ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => set(key)(event.target.value as F[TextKey<F>]) })

  async function submit(event: SyntheticEvent): Promise<void> {
    event.preventDefault()
    const built = build(form)
    if ('problem' in built) {
      setError(built.problem)
      return
    }
    setError(undefined)
    setBusy(true)
    try {
      const job = await api.post('/api/v1/jobs', { body: built.body })
      void navigate(`${detailPath}/${job.id}`)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    } finally {
      setBusy(false)
    }
  }

  return { form, set, text, error, busy, submit }
}
