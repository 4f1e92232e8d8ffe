import { join } from 'node:path'

/**
 * With DAMSELFLY_BENCH_CPU_PROF_DIR set, every scheduler and daemon a bench starts writes a V8 CPU
 * profile of its whole life into a directory named after it there (scheduler, seed, daemon-0, h1,
 * ...) when it stops: `--cpu-prof`, which NODE_OPTIONS does not take. Node options to put before
 * the script; none without the variable.
 */
export function cpuProfileArgs(name: string): string[] {
  const dir = process.env['DAMSELFLY_BENCH_CPU_PROF_DIR']
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', '--cpu-prof-dir', join(dir, name)]
}
