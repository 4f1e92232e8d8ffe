#!/usr/bin/env node
import { daemonCommand } from './dfdaemon-command.js'

await daemonCommand('dfdaemon').parseAsync()
