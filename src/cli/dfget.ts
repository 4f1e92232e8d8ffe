#!/usr/bin/env node
import { dfgetCommand } from './dfget/dfget-command.js'

await dfgetCommand().parseAsync()
