/** Previous and next for a paged list (the API's `page`, `per_page` and `Total-Count`). */
export function Pager({ page, perPage, total, onPage }: { readonly page: number; readonly perPage: number; readonly total: number | undefined; readonly onPage: (page: number) => void }) {
  if (total === undefined) return null
  const pages = Math.max(1, Math.ceil(total / perPage))
  return (
    <nav className="pager" aria-label="pages">
      <button type="button" onClick={() => onPage(page - 1)} disabled={page <= 1}>Previous</button>
      <span>page {page} of {pages} · {total} in all</span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages}>Next</button>
    </nav>
  )
}
