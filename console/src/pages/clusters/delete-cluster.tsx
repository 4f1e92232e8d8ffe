import { useEffect, useRef, useState } from 'react'
import { useNavigate } from 'react-router'
import { api } from '../../api/client'
import type { Cluster } from '../../api/types'
import { ErrorLine } from '../../components/error-line'

/**
 * Deletes a cluster after a second, explicit step: the first button only asks, and focus moves
 * to the answer so the keyboard follows. The API refuses the default cluster and one that still
 * has schedulers or seed peers; its line is shown.
 */
export function DeleteCluster({ cluster }: { readonly cluster: Cluster }) {
  const navigate = useNavigate()
  const [asking, setAsking] = useState(false)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)
  const confirmRef = useRef<HTMLButtonElement>(null)
  const askRef = useRef<HTMLButtonElement>(null)
  const wasAsking = useRef(false)

  useEffect(() => {
    if (asking) confirmRef.current?.focus()
    else if (wasAsking.current) askRef.current?.focus()
    wasAsking.current = asking
  }, [asking])

  async function remove() {
    setBusy(true)
    try {
      await api.delete('/api/v1/clusters/{id}', { path: { id: String(cluster.id) } })
      void navigate('/clusters')
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
      setAsking(false)
    } finally {
      setBusy(false)
    }
  }

  if (cluster.is_default) return <p className="hint">The default cluster cannot be deleted.</p>
  return (
    <section className="card danger-zone" aria-labelledby="delete-cluster-title">
      <h2 id="delete-cluster-title">Delete this cluster</h2>
      <p>Only a cluster without schedulers or seed peers can go; its hosts join another cluster at their next announce.</p>
      {asking ? (
        <div className="confirm" role="group" aria-label="Confirm deletion" onKeyDown={(event) => { if (event.key === 'Escape') setAsking(false) }}>
          <p id="delete-cluster-question">Delete cluster {cluster.name}? This cannot be undone.</p>
          <button ref={confirmRef} type="button" className="danger" disabled={busy} aria-describedby="delete-cluster-question" onClick={() => void remove()}>Delete</button>
          <button type="button" disabled={busy} onClick={() => setAsking(false)}>Cancel</button>
        </div>
      ) : (
        <button ref={askRef} type="button" className="danger" onClick={() => { setError(undefined); setAsking(true) }}>Delete cluster</button>
      )}
      <ErrorLine message={error} />
    </section>
  )
}
