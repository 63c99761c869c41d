#!/usr/bin/env node
import { exitCodeOf, runCommand } from './commands.js'

runCommand(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code
  },
  (error: unknown) => {
    // A person reads this: the message, never a stack trace.
    console.error(`court-file-gateway: ${(error as Error).message}`)
    // Exit now: a gateway that failed half-way through starting may hold timers that would keep the process
    // running, and a supervisor must see the failure. (stderr to a file or pipe is written synchronously.)
    process.exit(exitCodeOf(error))
  },
)
