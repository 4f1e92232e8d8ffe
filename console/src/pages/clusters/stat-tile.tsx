import type { ReactNode } from 'react'

/** One figure with its label; `detail` is a short line under it. */
export function StatTile({ label, value, detail, className }: { readonly label: string; readonly value: string; readonly detail?: ReactNode; readonly className?: string }) {
  return (
    <div className={className === undefined ? 'stat' : `stat ${className}`}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
      {detail === undefined ? null : <div className="detail">{detail}</div>}
    </div>
  )
}
