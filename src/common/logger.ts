import { pino, type Logger, type DestinationStream } from 'pino'

export type { Logger } from 'pino'

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Header and field names whose values never reach a log line. */
const REDACTED_PATHS = [
  'headers.authorization', 'headers.Authorization', 'headers.cookie', 'headers.Cookie',
  'headers["proxy-authorization"]', 'headers["Proxy-Authorization"]',
  'req.headers.authorization', 'req.headers.cookie', 'password', '*.password', 'token', '*.token',
  'joinToken', '*.joinToken', 'capability', '*.capability',
]

/** A JSON logger with credentials redacted; components take child loggers from it. */
export function createLogger(options: { level: LogLevel; name: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  )
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
