import { useState } from 'react'
import { ErrorLine } from '../../components/error-line'

/**
 * A new token's secret, shown this once: it lives in the caller's React state only, so it is gone
 * when the page is left or "Done" is pressed; the manager keeps only its hash.
 */
export function TokenSecret({ name, token, onDone }: { readonly name: string; readonly token: string; readonly onDone: () => void }) {
  const [copied, setCopied] = useState(false)
  const [error, setError] = useState<string | undefined>(undefined)

  async function copy() {
    try {
      // Only in a secure context (https, or the manager on localhost); otherwise say so.
      if (typeof navigator.clipboard?.writeText !== 'function') throw new Error('this browser gives no clipboard here: select the token and copy it')
      await navigator.clipboard.writeText(token)
      setCopied(true)
      setError(undefined)
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : String(failure))
    }
  }

  return (
    <section className="card notice" aria-labelledby="token-secret-title">
      <h2 id="token-secret-title">Token {name}</h2>
      <p>Copy it now: it will not be shown again.</p>
      <code className="secret">{token}</code>
      <div className="row-actions">
        <button type="button" className="primary" onClick={() => void copy()}>Copy</button>
        <button type="button" onClick={onDone}>Done</button>
      </div>
      <ErrorLine message={error} />
      {copied ? <p role="status">Copied.</p> : null}
    </section>
  )
}
