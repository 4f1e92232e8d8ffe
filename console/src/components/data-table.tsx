import type { ReactNode } from 'react'

export interface Column<T> {
  readonly header: string
  readonly cell: (row: T) => ReactNode
  /** Numbers align right. */
  readonly numeric?: boolean
}

/**
 * A table that scrolls sideways on a narrow screen instead of squeezing its columns; each cell
 * carries its column's name for the stacked layout of phones.
 */
export function DataTable<T>({ caption, columns, rows, rowKey, empty = 'nothing yet' }: {
  readonly caption: string
  readonly columns: readonly Column<T>[]
  readonly rows: readonly T[] | undefined
  readonly rowKey: (row: T) => string | number
  readonly empty?: string
}) {
  return (
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>{columns.map((column) => <th key={column.header} scope="col" className={column.numeric === true ? 'numeric' : undefined}>{column.header}</th>)}</tr>
        </thead>
        <tbody>
          {rows === undefined ? <tr><td colSpan={columns.length}>loading…</td></tr> : null}
          {rows?.length === 0 ? <tr><td colSpan={columns.length}>{empty}</td></tr> : null}
          {rows?.map((row) => (
            <tr key={rowKey(row)}>
              {columns.map((column) => <td key={column.header} data-label={column.header} className={column.numeric === true ? 'numeric' : undefined}>{column.cell(row)}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  )
}
