import { useId, type ReactNode, type TextareaHTMLAttributes } from 'react'

interface TextAreaFieldProps extends Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'> {
  readonly label: string
  readonly hint?: ReactNode
}

/** A labelled textarea, as `Field` is a labelled input: the label and hint are tied to it. */
export function TextAreaField({ label, hint, ...textarea }: TextAreaFieldProps) {
  const id = useId()
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} aria-describedby={hint === undefined ? undefined : `${id}-hint`} {...textarea} />
      {hint === undefined ? null : <small id={`${id}-hint`}>{hint}</small>}
    </div>
  )
}
