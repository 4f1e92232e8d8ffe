/**
 * Runs asynchronous operations one at a time, in the order they were handed over. Each caller
 * sees its own operation's result or failure; a failure never stops the operations after it.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(operation: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(operation)
    this.tail = turn.catch(() => undefined)
    return turn
  }

  /** Settles once every operation handed over so far has settled; never rejects. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined)
  }
}
