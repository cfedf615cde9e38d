'use strict'
// The `gearspec clients` adapter for npm gearman-node 2.0.13 (Clever/gearman-node): a client whose
// submitJob returns an emitter of the job's packets, and one Worker object (and connection) per
// function. It offers no unique keys, background jobs, priorities, status requests or several
// servers, so the adapter claims none of them.
const { requireLibrary, emit, hex, bytes, servers, serve, TaskSet } = require('./contract')
const gearman = requireLibrary('gearman-node')

let client = null
let queued = []
const set = new TaskSet()
const workers = []
let wanted = 0
let jobsDone = 0

function options () {
  const [first] = servers()   // the library takes one server
  return { host: first.host, port: first.port }
}

function submit (s) {
  if (!client) client = new gearman.Client(options())
  const id = s.id
  let ended = false
  const end = (event, fields) => { if (ended) return; ended = true; emit(event, Object.assign({ id }, fields)); set.end(id) }
  client.submitJob(s.function, bytes(s.data_hex))
    .on('created', (handle) => emit('created', { id, handle: String(handle) }))
    .on('data', (handle, data) => emit('data', { id, data_hex: hex(data) }))
    .on('warning', (handle, w) => emit('warning', { id, data_hex: hex(w) }))
    .on('status', (handle, num, den) => emit('status', { id, numerator: Number(num), denominator: Number(den) }))
    .on('complete', (handle, data) => end('complete', { data_hex: hex(data) }))
    .on('fail', () => end('fail', {}))
}

function jobFunction (name, script) {
  return (payload, job) => {
    emit('job', { function: name, data_hex: hex(payload) })
    const finished = () => { if (++jobsDone === wanted) emit('done') }
    const step = (i) => {
      if (i >= script.length) { job.complete(); return finished() }
      const a = script[i]
      const data = bytes(a.data_hex)
      switch (a.do) {
        case 'data': job.data(data); return step(i + 1)
        case 'warning': job.warning(data); return step(i + 1)
        case 'status': job.status(a.numerator, a.denominator); return step(i + 1)
        case 'sleep': return setTimeout(() => step(i + 1), a.ms)
        case 'complete': job.complete(data); return finished()
        case 'fail': job.error(); return finished()
        case 'exception': job.error(data); return finished()   // error(warning): its way to report why
      }
    }
    step(0)
  }
}

serve({
  library: 'gearman-node',
  capabilities: ['client', 'worker', 'data', 'warning', 'work_status', 'task_set'],
  onCommand (c) {
    switch (c.cmd) {
      case 'submit': queued.push(c); break
      case 'run': {
        const now = queued
        queued = []
        set.start(now.map((s) => s.id))
        now.forEach(submit)
        break
      }
      case 'register': workers.push(new gearman.Worker(c.function, jobFunction(c.function, c.script || []), options())); break
      case 'work': wanted = c.jobs; jobsDone = 0; break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
