import type { Logger } from '../common/logger.js'
import type { Startable } from '../common/startable.js'

/** Starts a service in the foreground and stops it on SIGINT or SIGTERM; resolves once stopped. */
export async function runUntilSignal(service: Startable, logger: Logger): Promise<void> {
  await service.start()
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'stopping')
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      service.stop().then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'stop failed')
        resolve()
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
  logger.flush()
}
