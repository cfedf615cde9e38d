'use strict'
// The `gearspec clients` adapter for npm gearman 2.1.0 (mreinstein/node-gearman): a thin
// connection that sends packets and emits one event per packet received. The library leaves two
// things to the application, so this adapter supplies them, plainly, and its hello says so (the
// report prints it): pairing each JOB_CREATED with the submissions in the order they were sent,
// then results by their exact handle, failing what waits when the connection closes; and the
// worker loop (grab, PRE_SLEEP on NO_JOB, grab on NOOP). A verdict on this agent judges the
// library with that glue.
const { requireLibrary, emit, hex, bytes, servers, serve, Commands, runScript } = require('./contract')
const gearman = requireLibrary('gearman')

let conn = null
let connected = false
const whenConnected = []
const commands = new Commands()
const awaitingCreated = []        // submissions sent, waiting for their JOB_CREATED, in order
const byHandle = new Map()        // handle -> submissions (FIFO: one result each)
const scripts = new Map()
let working = false

function ended (id) { commands.ended(id) }
function owner (handle) { const list = byHandle.get(handle); return list && list[0] }
function finish (handle) { const list = byHandle.get(handle); if (list) { const id = list.shift(); ended(id) } }

function connection (then) {
  if (!conn) {
    const [first] = servers()   // the library takes one server
    conn = gearman(first.host, first.port)
    conn.on('error', (e) => process.stderr.write('error event: ' + e + '\n'))
    conn.on('JOB_CREATED', (handle) => {
      const s = awaitingCreated.shift()
      if (!s) return process.stderr.write('JOB_CREATED with no submission waiting\n')
      emit('created', { id: s.id, handle })
      if (s.background) return ended(s.id)
      if (!byHandle.has(handle)) byHandle.set(handle, [])
      byHandle.get(handle).push(s.id)
    })
    conn.on('ERROR', (code, text) => {
      const s = awaitingCreated.shift()
      if (s) { emit('error', { id: s.id, class: 'server', message: code + ': ' + text }); ended(s.id) }
    })
    conn.on('WORK_DATA', (p) => { const id = owner(p.handle); if (id) emit('data', { id, data_hex: hex(p.payload) }) })
    conn.on('WORK_WARNING', (p) => { const id = owner(p.handle); if (id) emit('warning', { id, data_hex: hex(p.warning) }) })
    conn.on('WORK_STATUS', (p) => { const id = owner(p.handle); if (id) emit('status', { id, numerator: Number(p.percent_num), denominator: Number(p.percent_den) }) })
    conn.on('WORK_COMPLETE', (p) => { const id = owner(p.handle); if (id) { emit('complete', { id, data_hex: hex(p.payload) }); finish(p.handle) } })
    conn.on('WORK_FAIL', (p) => { const id = owner(p.handle); if (id) { emit('fail', { id }); finish(p.handle) } })
    conn.on('WORK_EXCEPTION', (p) => { const id = owner(p.handle); if (id) { emit('exception', { id, data_hex: hex(p.exception) }); finish(p.handle) } })
    conn.on('STATUS_RES', (r) => emit('status_answer', { id: statusIds.shift(), known: r.known === '1', running: r.running === '1', numerator: Number(r.percent_done_num), denominator: Number(r.percent_done_den) }))
    conn.on('STATUS_RES_UNIQUE', (r) => emit('status_answer', { id: statusIds.shift(), known: r.known === '1', running: r.running === '1', numerator: Number(r.percent_done_num), denominator: Number(r.percent_done_den) }))
    conn.on('close', () => {   // the library reports the close; ending what waited is the glue's
      awaitingCreated.splice(0).forEach((s) => { emit('error', { id: s.id, class: 'connection' }); ended(s.id) })
      for (const [handle, ids] of byHandle) {
        ids.splice(0).forEach((id) => { emit('error', { id, class: 'connection' }); ended(id) })
        byHandle.delete(handle)
      }
    })
    conn.on('NO_JOB', () => { if (working) conn.preSleep() })
    conn.on('NOOP', () => { if (working) conn.grabJob() })
    conn.on('JOB_ASSIGN', (job) => runJob(job))
    conn.connect(() => { connected = true; whenConnected.splice(0).forEach((f) => f()) })
  }
  if (connected) then(); else whenConnected.push(then)
}
const statusIds = []

function runJob (job) {
  emit('job', { function: job.func_name, handle: job.handle, data_hex: hex(job.payload) })
  runScript(scripts.get(job.func_name) || [], {
    data: (d) => conn.sendWorkData(job.handle, d),
    warning: (d) => conn.sendWorkWarning(job.handle, d),
    status: (d, a) => conn.sendWorkStatus(job.handle, String(a.numerator), String(a.denominator)),   // it takes strings
    complete: (d) => conn.sendWorkComplete(job.handle, d),
    fail: () => conn.sendWorkFail(job.handle),
    exception: (d) => conn.sendWorkException(job.handle, d)
  }, () => {
    commands.jobFinished()
    if (commands.jobsDone === commands.wanted) working = false
    else conn.grabJob()
  })
}

serve({
  library: 'gearman',
  note: 'the adapter supplies what the library leaves to applications: JOB_CREATED paired with submissions in order, results routed by handle, pending submissions failed when the connection closes, and the worker loop (grab, PRE_SLEEP on NO_JOB, grab on NOOP)',
  capabilities: ['client', 'worker', 'background', 'unique', 'priority', 'status', 'status_unique',
    'exceptions', 'data', 'warning', 'work_status', 'can_do_timeout', 'task_set'],
  onCommand (c) {
    switch (c.cmd) {
      case 'submit': commands.queue(c); break
      case 'run':
        connection(() => {
          conn.setOption('exceptions')
          commands.run((s) => {
            awaitingCreated.push(s)
            const options = { background: !!s.background, priority: s.priority || 'normal' }
            if (s.unique) options.unique_id = s.unique
            conn.submitJob(s.function, bytes(s.data_hex), options)
          })
        })
        break
      case 'status': statusIds.push(c.id); connection(() => conn.getJobStatus(c.handle)); break
      case 'status_unique': statusIds.push(c.id); connection(() => conn.getJobStatusUnique(c.unique)); break
      case 'register':
        scripts.set(c.function, c.script || [])
        // The library sends the timeout as it is given (index.js addFunction).
        connection(() => conn.addFunction(c.function, c.timeout_ms ? Math.floor(c.timeout_ms / 1000) : 0))
        break
      case 'work': commands.work(c.jobs); working = true; connection(() => conn.grabJob()); break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
