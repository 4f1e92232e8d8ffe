#!/usr/bin/env -S node --max-semi-space-size=1 --initial-old-space-size=64 --no-allocation-site-pretenuring
// The options on the line above are DAEMON_NODE_OPTIONS (src/daemon/node-options.ts); a test keeps the two equal.
import { daemonCommand } from './dfdaemon-command.js'

await daemonCommand('dfdaemon').parseAsync()
