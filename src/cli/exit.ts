import { toDamselflyError } from '../protocol/damselfly-error.js'

/** Prints one line naming the problem and exits 1: how every command reports a failure. */
export function fail(command: string, error: unknown): never {
  const failure = toDamselflyError(error)
  process.stderr.write(`${command}: ${failure.message}\n`)
  process.exit(1)
}
