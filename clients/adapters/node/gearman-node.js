'use strict'
// The `gearspec clients` adapter for npm gearman-node 2.0.13 (Clever/gearman-node): a client whose
// submitJob returns an emitter of the job's packets, and one Worker object (and connection) per
// function. It offers no unique keys, background jobs, priorities, status requests or several
// servers, so the adapter claims none of them.
const { requireLibrary, emit, hex, bytes, servers, serve, Commands, runScript } = require('./contract')
const gearman = requireLibrary('gearman-node')

let client = null
const commands = new Commands()
const workers = []

function options () {
  const [first] = servers()   // the library takes one server
  return { host: first.host, port: first.port }
}

function submit (s) {
  if (!client) client = new gearman.Client(options())
  const id = s.id
  let ended = false
  const end = (event, fields) => { if (ended) return; ended = true; emit(event, Object.assign({ id }, fields)); commands.ended(id) }
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
    runScript(script, {
      data: (d) => job.data(d),
      warning: (d) => job.warning(d),
      status: (d, a) => job.status(a.numerator, a.denominator),
      complete: (d) => job.complete(d),
      fail: () => job.error(),
      exception: (d) => job.error(d)   // error(warning): its way to report why
    }, () => commands.jobFinished())
  }
}

serve({
  library: 'gearman-node',
  capabilities: ['client', 'worker', 'data', 'warning', 'work_status', 'task_set'],
  onCommand (c) {
    switch (c.cmd) {
      case 'submit': commands.queue(c); break
      case 'run': commands.run(submit); break
      case 'register': workers.push(new gearman.Worker(c.function, jobFunction(c.function, c.script || []), options())); break
      case 'work': commands.work(c.jobs); break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
