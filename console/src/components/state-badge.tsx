const TONES: Record<string, 'ok' | 'bad' | 'warn' | undefined> = {
  SUCCESS: 'ok', FAILURE: 'bad', PENDING: 'warn',
  active: 'ok', inactive: 'bad',
  succeeded: 'ok', failed: 'bad', left: 'bad', running: 'warn', 'back-to-source': 'warn', pending: undefined,
  enable: 'ok', disable: 'bad', revoked: 'bad',
  success: 'ok', failure: 'bad',
}

/** A state as a coloured word: the word carries the meaning, the colour only helps. */
export function StateBadge({ state, label }: { readonly state: string; readonly label?: string }) {
  const tone = TONES[state]
  return <span className={tone === undefined ? 'badge' : `badge ${tone}`} aria-label={label === undefined ? undefined : `${label}: ${state}`}>{state}</span>
}
