/**
 * Lets work wait until the event loop has handled the I/O it already had: every waiter of a
 * turn shares one `defer` (`setImmediate` outside tests), which runs once the turn's reads are
 * handled. The scheduler puts peers' reports and the ends of their streams behind it, so that a
 * registration read in the same turn is decided and answered first.
 */
export class AfterIo {
  private next: Promise<void> | undefined

  constructor(private readonly components: { readonly defer: (run: () => void) => void }) {}

  /** Resolves after the I/O callbacks of the current turn; never rejects. */
  wait(): Promise<void> {
    if (this.next === undefined) {
      this.next = new Promise((resolve) => {
        this.components.defer(() => {
          this.next = undefined
          resolve()
        })
      })
    }
    return this.next
  }
}
