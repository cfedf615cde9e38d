'use strict'
// The adapter contract of `gearspec clients` (docs/clients.md) for the Node.js adapters: hello,
// commands read line by line from stdin, events written as JSON lines, byte strings as hex. Each
// library's adapter (one file per library) only maps commands to the library's calls.
const path = require('path')
const readline = require('readline')
const { createRequire } = require('module')

// The libraries are installed, pinned, in tests/interop/node by scripts/bootstrap.sh.
const requireLibrary = createRequire(path.join(__dirname, '../../../tests/interop/node/package.json'))

// stdout is a pipe, which Node writes synchronously on Linux: nothing is lost at exit.
function emit (event, fields) {
  process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n')
}
const hex = (data) => Buffer.from(data == null ? '' : data).toString('hex')
const bytes = (h) => Buffer.from(h || '', 'hex')

function servers () {
  return (process.env.GEARSPEC_SERVERS || '').split(',').filter(Boolean).map((s) => {
    const colon = s.lastIndexOf(':')
    return { host: s.slice(0, colon), port: Number(s.slice(colon + 1)) }
  })
}

function version (name) {
  return requireLibrary(name + '/package.json').version
}

/** Says hello, then hands every command but quit to onCommand(cmd); quit or the end of stdin
    ends the process at once, whatever the library is doing. */
function serve ({ library, capabilities, onCommand, note }) {
  emit('hello', Object.assign({ library, version: version(library), capabilities }, note ? { note } : {}))
  const lines = readline.createInterface({ input: process.stdin })
  lines.on('line', (line) => {
    if (!line.trim()) return
    let cmd
    try {
      cmd = JSON.parse(line)
    } catch (e) {
      return emit('error', { class: 'contract', message: String(e) })
    }
    if (cmd.cmd === 'quit') process.exit(0)
    try {
      onCommand(cmd)
    } catch (e) {
      emit('error', { id: cmd.id, class: 'other', message: String(e && e.stack || e) })
    }
  })
  lines.on('close', () => process.exit(0))
}

/** Tracks a task set: `done` once every submission of the last `run` has ended. */
class TaskSet {
  constructor () { this.open = new Set(); this.running = false }
  start (ids) { ids.forEach((id) => this.open.add(id)); this.running = true; this.check() }
  end (id) { this.open.delete(id); this.check() }
  check () { if (this.running && this.open.size === 0) { this.running = false; emit('done') } }
}

/** What every adapter does alike: submissions wait for `run`, which hands them all to the
    library's submit at once; `work` counts jobs until `done`. */
class Commands {
  constructor () { this.queued = []; this.set = new TaskSet(); this.wanted = 0; this.jobsDone = 0 }
  queue (cmd) { this.queued.push(cmd) }
  run (submit) {
    const now = this.queued
    this.queued = []
    this.set.start(now.map((s) => s.id))
    now.forEach(submit)
  }
  ended (id) { this.set.end(id) }
  work (jobs) { this.wanted = jobs; this.jobsDone = 0 }
  jobFinished () { if (++this.jobsDone === this.wanted) emit('done') }
}

/** Runs a job's script (docs/clients.md, register) through the library's calls in `act`:
    data, warning, status, complete, fail, exception (the last three end the job; a script without
    one completes with no data); sleeps in between. `finished` is called once the job has ended. */
function runScript (script, act, finished) {
  const terminal = new Set(['complete', 'fail', 'exception'])
  const step = (i) => {
    if (i >= script.length) { act.complete(Buffer.alloc(0)); return finished() }
    const a = script[i]
    if (a.do === 'sleep') return setTimeout(() => step(i + 1), a.ms)
    if (act[a.do]) act[a.do](bytes(a.data_hex), a)
    if (terminal.has(a.do)) return finished()
    step(i + 1)
  }
  step(0)
}

module.exports = { requireLibrary, emit, hex, bytes, servers, serve, TaskSet, Commands, runScript }
