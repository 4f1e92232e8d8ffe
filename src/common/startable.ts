/** A long-lived service. `stop()` is idempotent and waits for in-flight work to settle. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}
