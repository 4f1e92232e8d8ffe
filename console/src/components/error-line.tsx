/** The API's (or a form's) problem, in one line, announced to screen readers. */
export function ErrorLine({ message }: { readonly message: string | undefined }) {
  if (message === undefined) return null
  return <p className="error-line" role="alert">{message}</p>
}
