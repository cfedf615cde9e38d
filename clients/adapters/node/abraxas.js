'use strict'
// The `gearspec clients` adapter for npm abraxas 2.1.10 (iarna/abraxas): tasks that are streams and
// promises, registerWorker with task.end / task.error.
//
// The library gives the application a job's result as one value (WORK_DATA is folded into it
// unless the server streams), its progress as a percentage, and failures and exceptions alike as
// an 'error' event: the adapter reports the result as `complete` and an error as `fail`, and does
// not claim the "data", "work_status", "status" or "exceptions" capabilities.
const { requireLibrary, emit, hex, bytes, servers, serve, TaskSet } = require('./contract')
const Gearman = requireLibrary('abraxas')

let client = null
let queued = []
const set = new TaskSet()
let wanted = 0
let jobsDone = 0

function getClient () {
  if (!client) {
    client = Gearman.Client.connect({ servers: servers(), defaultEncoding: 'buffer' })
    client.on('error', (e) => process.stderr.write('client error event: ' + e + '\n'))
  }
  return client
}

function submit (s) {
  const id = s.id
  const options = { encoding: 'buffer' }
  if (s.unique) options.uniqueid = s.unique
  if (s.priority && s.priority !== 'normal') options.priority = s.priority
  if (s.timeout_ms) options.responseTimeout = s.timeout_ms
  let ended = false
  const end = (event, fields) => { if (ended) return; ended = true; emit(event, Object.assign({ id }, fields)); set.end(id) }
  if (s.background) {
    getClient().submitJobBg(s.function, options, bytes(s.data_hex), (err, jobid) => {
      if (err) return end('error', { class: 'other', message: String(err) })
      end('created', { handle: String(jobid) })
    })
    return
  }
  const task = getClient().submitJob(s.function, options, bytes(s.data_hex))
  task.on('created', () => emit('created', { id, handle: String(task.jobid) }))
  task.on('warn', (w) => emit('warning', { id, data_hex: hex(w) }))
  // Failures, timeouts and lost connections arrive as the task's 'error' event (README, Tasks).
  const failed = (err) => {
    const text = String(err)
    if (/timeout/i.test(text)) return end('error', { class: 'timeout', message: text })
    if (/connection|socket/i.test(text)) return end('error', { class: 'connection', message: text })
    end('fail', { message: text })
  }
  task.on('error', failed)
  task.then((result) => end('complete', { data_hex: hex(result) }), failed)
}

function jobFunction (name, script) {
  return (task) => {
    emit('job', { function: name, handle: String(task.jobid || ''), unique: String(task.uniqueid || ''), data_hex: hex(task.payload) })
    const finished = () => { if (++jobsDone === wanted) emit('done') }
    const step = (i) => {
      if (i >= script.length) { task.end(''); return finished() }
      const a = script[i]
      const data = bytes(a.data_hex)
      switch (a.do) {
        case 'warning': task.warn(data); return step(i + 1)
        case 'status': task.status(a.denominator ? a.numerator / a.denominator : 0); return step(i + 1)
        case 'sleep': return setTimeout(() => step(i + 1), a.ms)
        case 'complete': task.end(data); return finished()
        case 'fail': task.error(''); return finished()
        case 'exception': task.error(data); return finished()   // the library's way to throw
        default: return step(i + 1)   // data: written data is buffered into the result
      }
    }
    step(0)
  }
}

serve({
  library: 'abraxas',
  capabilities: ['client', 'worker', 'background', 'unique', 'priority', 'warning', 'timeout',
    'can_do_timeout', 'several_servers', 'reconnect', 'task_set'],
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
        const options = { encoding: 'buffer' }
        // The library takes the timeout in seconds (README, registerWorker options.timeout).
        if (c.timeout_ms) options.timeout = Math.floor(c.timeout_ms / 1000)
        getClient().registerWorker(c.function, options, jobFunction(c.function, c.script || []))
        break
      }
      case 'unregister': getClient().unregisterWorker(c.function); break
      case 'work': wanted = c.jobs; jobsDone = 0; break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
