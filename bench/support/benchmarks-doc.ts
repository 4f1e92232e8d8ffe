import { readFile, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, release, totalmem } from 'node:os'

const DOC_HEADING = `# Benchmarks

Speed goals live in \`bench/\`, not in the test suites: each bench runs real processes against a
local origin, prints a markdown table and replaces its own section below. Numbers depend on the
machine, so every section names the machine, the date and the command that produced it. Build
first (\`node_modules/.bin/tsc -p tsconfig.build.json\`, what \`npm run build\` runs): the benches run
the built commands in \`dist/\`, exactly as users do.
`

/** The machine a result was measured on, in one markdown line. */
export function machineLine(): string {
  const model = cpus()[0]?.model.trim() ?? 'unknown cpu'
  const memoryGiB = (totalmem() / 1024 ** 3).toFixed(1)
  return `${availableParallelism()} CPUs (${model}), ${memoryGiB} GiB memory, Linux ${release()}, Node ${process.version}`
}

/**
 * Writes `body` as the section `## <name>` of the benchmarks document, replacing the section of
 * that name if there is one and appending it otherwise. Creates the document when missing.
 */
export async function replaceSection(docPath: string, name: string, body: string): Promise<void> {
  const existing = await readFile(docPath, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DOC_HEADING
    throw error
  })
  const section = `## ${name}\n\n${body.trimEnd()}\n`
  const lines = existing.split('\n')
  const start = lines.findIndex((line) => line.trimEnd() === `## ${name}`)
  if (start === -1) {
    await writeFile(docPath, `${existing.trimEnd()}\n\n${section}`)
    return
  }
  const nextOffset = lines.slice(start + 1).findIndex((line) => line.startsWith('## '))
  const end = nextOffset === -1 ? lines.length : start + 1 + nextOffset
  const before = lines.slice(0, start).join('\n').trimEnd()
  const after = lines.slice(end).join('\n').trim()
  await writeFile(docPath, `${before}\n\n${section}${after === '' ? '' : `\n${after}\n`}`)
}

/**
 * The lines a bench's section opens with: how to run it, when and on what it was measured, and
 * the exact command. `build` says what to do first (default: build).
 */
export function sectionPreamble(init: { runLine: string; command: string; build?: string }): string[] {
  return [
    `Run it: \`${init.runLine}\` (${init.build ?? 'after building'}; \`--no-docs\` leaves this file alone).`,
    '',
    `Measured ${new Date().toISOString()} on ${machineLine()}.`,
    '',
    `Command: \`${init.command}\``,
    '',
  ]
}

/** Writes the bench's section (see {@link replaceSection}) and says so on stderr. */
export async function publishSection(docPath: string, name: string, body: string): Promise<void> {
  await replaceSection(docPath, name, body)
  console.error(`updated the "${name}" section of ${docPath}`)
}
