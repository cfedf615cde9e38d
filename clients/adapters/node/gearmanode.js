'use strict'
// The `gearspec clients` adapter for npm gearmanode 0.9.2 (veny/GearmaNode): one job object per
// submission with events, and a worker whose functions get job objects.
const { requireLibrary, emit, hex, bytes, servers, serve, Commands, runScript } = require('./contract')
const gearmanode = requireLibrary('gearmanode')

let client = null
let worker = null
const commands = new Commands()

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
    if (s.background) commands.ended(id)
  })
  job.on('workData', (d) => emit('data', { id, data_hex: hex(d) }))
  job.on('warning', (d) => emit('warning', { id, data_hex: hex(d) }))
  job.on('status', (st) => emit('status', { id, numerator: Number(st.percent_done_num), denominator: Number(st.percent_done_den) }))
  job.on('complete', () => { emit('complete', { id, data_hex: hex(job.response) }); commands.ended(id) })
  job.on('failed', () => { emit('fail', { id }); commands.ended(id) })
  job.on('exception', (d) => { emit('exception', { id, data_hex: hex(d) }); commands.ended(id) })
  job.on('error', (e) => { emit('error', { id, class: 'other', message: String(e) }); commands.ended(id) })
}

function jobFunction (script) {
  return (job) => {
    emit('job', { function: job.name, handle: job.handle, unique: job.unique || '', data_hex: hex(job.payload) })
    runScript(script, {
      data: (d) => job.sendWorkData(d),
      warning: (d) => job.reportWarning(d),
      status: (d, a) => job.reportStatus(a.numerator, a.denominator),
      complete: (d) => job.workComplete(d),
      fail: () => job.reportError(),
      exception: (d) => job.reportException(d)   // the library's way to throw
    }, () => commands.jobFinished())
  }
}

serve({
  library: 'gearmanode',
  capabilities: ['client', 'worker', 'background', 'unique', 'priority', 'data', 'warning',
    'work_status', 'can_do_timeout', 'several_servers', 'reconnect', 'task_set'],
  onCommand (c) {
    switch (c.cmd) {
      case 'submit': commands.queue(c); break
      case 'run': commands.run(submit); break
      case 'register': {
        const options = {}
        // The library takes the timeout in seconds (worker.js addFunction: options.timeout).
        if (c.timeout_ms) options.timeout = Math.floor(c.timeout_ms / 1000)
        getWorker().addFunction(c.function, jobFunction(c.script || []), options)
        break
      }
      case 'unregister': getWorker().removeFunction(c.function); break
      case 'work': commands.work(c.jobs); getWorker(); break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
