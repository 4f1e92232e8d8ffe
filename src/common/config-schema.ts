import { z } from 'zod'
import { isDamselflyError } from '../protocol/damselfly-error.js'
import { parseBytes, parseDurationMs } from './units.js'

function unitField(parse: (value: string) => number, what: string) {
  return z.union([z.number().int().nonnegative(), z.string()]).transform((value, ctx) => {
    if (typeof value === 'number') return value
    try {
      return parse(value)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: isDamselflyError(error) ? error.message : `invalid ${what}` })
      return z.NEVER
    }
  })
}

/** A duration in config: milliseconds as a number, or text such as `30s`, `5m`, `6h`. */
export const durationMs = (): z.ZodType<number, number | string> => unitField(parseDurationMs, 'duration')

/** The longest delay a Node timer holds, about 24.8 days; a longer one fires after 1 ms instead. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** A duration that becomes a timer's delay, such as a timeout: at most {@link MAX_TIMER_MS}. */
export const timerMs = (): z.ZodType<number, number | string> =>
  durationMs().refine((ms) => ms <= MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS}ms (about 24 days)`)

/** A duration between repeated runs: more than 0, since an interval of 0 repeats without pause. */
export const intervalMs = (): z.ZodType<number, number | string> =>
  timerMs().refine((ms) => ms > 0, 'must be more than 0')

/** A byte size or rate in config: a number of bytes, or text such as `512KiB`, `100MB`, `10GiB`. */
export const bytes = (): z.ZodType<number, number | string> => unitField(parseBytes, 'byte size')

export const port = (): z.ZodNumber => z.number().int().min(0).max(65535)
