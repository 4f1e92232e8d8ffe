import { Command } from 'commander'
import { applyRuntimeConfig, DEFAULT_PATHS, RUNTIMES, type Runtime } from './runtime-config/runtime-configs.js'
import { fail } from './exit.js'

interface ConfigFlags {
  mirror: string
  registry?: string
  path?: string
  undo?: boolean
}

function runtimeCommand(runtime: Runtime, what: string): Command {
  return new Command(runtime)
    .description(`route ${runtime} pulls through the local daemon's registry mirror (${what})`)
    .option('--mirror <url>', 'the daemon\'s proxy', 'http://127.0.0.1:65001')
    .option('--registry <url>', runtime === 'docker' ? 'ignored: Docker mirrors Docker Hub only' : 'the registry to route (every registry when omitted)')
    .option('--path <path>', `what to write (default ${DEFAULT_PATHS[runtime]})`)
    .option('--undo', 'restore what was there before')
    .action(async (flags: ConfigFlags) => {
      try {
        const note = await applyRuntimeConfig(runtime, flags.path ?? DEFAULT_PATHS[runtime], { mirror: flags.mirror, registry: flags.registry }, flags.undo === true)
        process.stdout.write(`${note}\n`)
        if (flags.undo !== true) process.stdout.write(`restart or reload ${runtime} to apply it\n`)
      } catch (error) {
        fail(`damselfly config ${runtime}`, error)
      }
    })
}

/** `damselfly config containerd|docker|podman`: writes the runtime configuration that uses the mirror. */
export function configCommand(): Command {
  const what: Record<Runtime, string> = {
    containerd: 'certs.d/<registry>/hosts.toml with X-Dragonfly-Registry',
    docker: 'registry-mirrors in daemon.json',
    podman: 'a registries.conf drop-in, also read by CRI-O and skopeo',
  }
  const command = new Command('config').description('write container runtime configuration that routes pulls through Damselfly')
  for (const runtime of RUNTIMES) command.addCommand(runtimeCommand(runtime, what[runtime]))
  return command
}
