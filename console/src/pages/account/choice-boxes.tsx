import { useId } from 'react'

/**
 * A fieldset of checkboxes, one per choice, each labelled by the choice itself; `onToggle` gets
 * the choice and whether it is now checked.
 */
export function ChoiceBoxes({ legend, choices, checked, onToggle, disabled = false }: {
  readonly legend: string
  readonly choices: readonly string[]
  readonly checked: readonly string[]
  readonly onToggle: (choice: string, on: boolean) => void
  readonly disabled?: boolean
}) {
  const id = useId()
  return (
    <fieldset className="choices">
      <legend>{legend}</legend>
      {choices.map((choice) => (
        <span key={choice} className="choice">
          <input id={`${id}-${choice}`} type="checkbox" checked={checked.includes(choice)} disabled={disabled} onChange={(event) => onToggle(choice, event.target.checked)} />
          <label htmlFor={`${id}-${choice}`}>{choice}</label>
        </span>
      ))}
    </fieldset>
  )
}

/** `list` with `choice` in or out, in the order of `order`. */
export function toggled(list: readonly string[], choice: string, on: boolean, order: readonly string[]): string[] {
  const next = new Set(list)
  if (on) next.add(choice)
  else next.delete(choice)
  return order.filter((item) => next.has(item))
}
