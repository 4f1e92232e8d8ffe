import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { pino } from 'pino'
import { createLogger } from '../common/logger.js'
import { resolveDaemonConfig } from '../daemon/config.js'
import { defaultSocketPath } from '../daemon/paths.js'
import { Daemon } from '../daemon/daemon.js'
import { fail } from './exit.js'

interface UpFlags {
  config?: string
  dataDir?: string
}

/**
 * `damselfly up`: everything a single machine needs, in this one process, with embedded defaults.
 * Logs go to files under the data directory; the terminal shows how to use it. Ctrl-C stops all.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start a local Damselfly (daemon with its local API and upload server) in the foreground')
    .option('-c, --config <path>', 'dfdaemon YAML config file')
    .option('--data-dir <path>', 'where tasks are stored')
    .action(async (flags: UpFlags) => {
      try {
        const config = resolveDaemonConfig({ file: flags.config, env: process.env, flags: { storage: { dir: flags.dataDir } } })
        const logDir = join(config.storage.dir, 'logs')
        mkdirSync(logDir, { recursive: true })
        const logPath = join(logDir, 'dfdaemon.log')
        const logger = createLogger({ level: config.log.level, name: 'dfdaemon', destination: pino.destination({ dest: logPath, mkdir: true, sync: false }) })
        const daemon = await Daemon.create(config, { logger })
        await daemon.start()
        const socket = config.download.server.socketPath
        process.stdout.write(
          [
            'Damselfly is up.',
            `  data:     ${config.storage.dir}`,
            `  logs:     ${logPath}`,
            `  download: dfget${socket === defaultSocketPath() ? '' : ` -e ${socket}`} <url> -O <file>`,
            `  metrics:  http://${daemon.uploadServer.address.replace('0.0.0.0', '127.0.0.1')}/metrics`,
            'Press Ctrl-C to stop.',
            '',
          ].join('\n'),
        )
        await new Promise<void>((resolve) => {
          const onSignal = (): void => {
            process.stdout.write('stopping...\n')
            daemon.stop().then(resolve, resolve)
          }
          process.once('SIGINT', onSignal)
          process.once('SIGTERM', onSignal)
        })
        logger.flush()
      } catch (error) {
        fail('damselfly up', error)
      }
    })
}
