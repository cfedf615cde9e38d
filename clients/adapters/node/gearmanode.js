'use strict'
// The `gearspec clients` adapter for npm gearmanode 0.9.2 (veny/GearmaNode): one job object per
// submission with events, and a worker whose functions get job objects.
const { requireLibrary, emit, hex, bytes, servers, serve, TaskSet } = require('./contract')
const gearmanode = requireLibrary('gearmanode')

let client = null
let worker = null
let queued = []
const set = new TaskSet()
let wanted = 0
let jobsDone = 0

// An application listens for the library-wide 'error' event (Node ends the process on an unheard
// one); what it reports does not end any submission, so it goes to stderr for the report.
const logged = (what) => (e) => process.stderr.write(what + ' error event: ' + e + '\n')
function getClient () {
  if (!client) {
    client = gearmanode.client({ servers: servers() })
    client.on('error', logged('client'))
  }
  return client
}
function getWorker () {
  if (!worker) {
    worker = gearmanode.worker({ servers: servers(), withUnique: true })
    worker.on('error', logged('worker'))
  }
  return worker
}

function submit (s) {
  const options = { background: !!s.background }
  if (s.unique) options.unique = s.unique
  if (s.priority && s.priority !== 'normal') options.priority = s.priority.toUpperCase()
  const job = getClient().submitJob(s.function, bytes(s.data_hex), options)
  const id = s.id
  job.on('created', () => {
    emit('created', { id, handle: job.handle })
    if (s.background) set.end(id)
  })
  job.on('workData', (d) => emit('data', { id, data_hex: hex(d) }))
  job.on('warning', (d) => emit('warning', { id, data_hex: hex(d) }))
  job.on('status', (st) => emit('status', { id, numerator: Number(st.percent_done_num), denominator: Number(st.percent_done_den) }))
  job.on('complete', () => { emit('complete', { id, data_hex: hex(job.response) }); set.end(id) })
  job.on('failed', () => { emit('fail', { id }); set.end(id) })
  job.on('exception', (d) => { emit('exception', { id, data_hex: hex(d) }); set.end(id) })
  job.on('error', (e) => { emit('error', { id, class: 'other', message: String(e) }); set.end(id) })
}

function jobFunction (script) {
  return (job) => {
    emit('job', { function: job.name, handle: job.handle, unique: job.unique || '', data_hex: hex(job.payload) })
    const finished = () => { if (++jobsDone === wanted) emit('done') }
    const step = (i) => {
      if (i >= script.length) { job.workComplete(''); return finished() }
      const a = script[i]
      const data = bytes(a.data_hex)
      switch (a.do) {
        case 'data': job.sendWorkData(data); return step(i + 1)
        case 'warning': job.reportWarning(data); return step(i + 1)
        case 'status': job.reportStatus(a.numerator, a.denominator); return step(i + 1)
        case 'sleep': return setTimeout(() => step(i + 1), a.ms)
        case 'complete': job.workComplete(data); return finished()
        case 'fail': job.reportError(); return finished()
        case 'exception': job.reportException(data); return finished()   // the library's way to throw
      }
    }
    step(0)
  }
}

serve({
  library: 'gearmanode',
  capabilities: ['client', 'worker', 'background', 'unique', 'priority', 'data', 'warning',
    'work_status', 'can_do_timeout', 'several_servers', 'reconnect', 'task_set'],
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
      case 'register': {
        const options = {}
        // The library takes the timeout in seconds (worker.js addFunction: options.timeout).
        if (c.timeout_ms) options.timeout = Math.floor(c.timeout_ms / 1000)
        getWorker().addFunction(c.function, jobFunction(c.script || []), options)
        break
      }
      case 'unregister': getWorker().removeFunction(c.function); break
      case 'work': wanted = c.jobs; jobsDone = 0; getWorker(); break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
