#!/usr/bin/env node
import { Command } from 'commander'
import { VERSION } from '../common/version.js'
import { caCommand } from './ca-command.js'
import { configCommand } from './config-command.js'
import { daemonCommand } from './dfdaemon-command.js'
import { joinCommand } from './join-command.js'
import { managerCommand } from './manager-command.js'
import { pkiCommand } from './pki-command.js'
import { schedulerCommand } from './scheduler-command.js'
import { upCommand } from './up-command.js'

await new Command('damselfly')
  .description('P2P distribution of container images and files')
  .version(VERSION)
  .addCommand(daemonCommand('daemon'))
  .addCommand(upCommand())
  .addCommand(schedulerCommand())
  .addCommand(managerCommand())
  .addCommand(configCommand())
  .addCommand(caCommand())
  .addCommand(pkiCommand())
  .addCommand(joinCommand())
  .parseAsync()
