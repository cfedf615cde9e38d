'use strict'
// The `gearspec clients` adapter for npm node-gearman 0.2.2 (andris9/node-gearman): one server,
// jobs as readable streams ('data' chunks, then 'end'), workers that write and end.
//
// The library hands the application a job's WORK_DATA chunks and its WORK_COMPLETE payload alike
// as 'data', so the result the application sees is their concatenation: that is what `complete`
// reports, and the adapter does not claim the "data" capability. It has no status, warnings,
// background handles or exceptions (a throwing function can only call worker.error()).
const { requireLibrary, emit, hex, bytes, servers, serve, TaskSet } = require('./contract')
const Gearman = requireLibrary('node-gearman')

let gearman = null
let queued = []
const set = new TaskSet()
let wanted = 0
let jobsDone = 0

function connection () {
  if (!gearman) {
    const [first] = servers()   // the library takes one server
    gearman = new Gearman(first.host, first.port)
    gearman.on('error', (e) => process.stderr.write('error event: ' + e + '\n'))
  }
  return gearman
}

function submit (s) {
  const options = {}
  if (s.priority && s.priority !== 'normal') options.priority = s.priority
  const job = connection().submitJob(s.function, bytes(s.data_hex), s.unique || false, options)
  const id = s.id
  const chunks = []
  let ended = false
  const end = (event, fields) => { if (ended) return; ended = true; emit(event, Object.assign({ id }, fields)); set.end(id) }
  if (s.timeout_ms) job.setTimeout(s.timeout_ms)
  job.on('data', (d) => chunks.push(Buffer.from(d)))
  job.on('end', () => end('complete', { data_hex: hex(Buffer.concat(chunks)) }))
  job.on('error', (e) => end('fail', { message: String(e) }))
  job.on('timeout', () => end('error', { class: 'timeout' }))
}

function jobFunction (script) {
  return (payload, worker) => {
    emit('job', { function: worker.name, handle: worker.handle, data_hex: hex(payload) })
    const finished = () => { if (++jobsDone === wanted) emit('done') }
    const step = (i) => {
      if (i >= script.length) { worker.end(''); return finished() }
      const a = script[i]
      const data = bytes(a.data_hex)
      switch (a.do) {
        case 'data': worker.write(data); return step(i + 1)
        case 'sleep': return setTimeout(() => step(i + 1), a.ms)
        case 'complete': worker.end(data); return finished()
        case 'fail': worker.error(); return finished()
        case 'exception': worker.error(); return finished()   // its only way to report a failure
        default: return step(i + 1)   // status, warning: the library has no call for them
      }
    }
    step(0)
  }
}

serve({
  library: 'node-gearman',
  capabilities: ['client', 'worker', 'unique', 'priority', 'timeout', 'task_set'],
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
      case 'register': connection().registerWorker(c.function, jobFunction(c.script || [])); break
      case 'work': wanted = c.jobs; jobsDone = 0; break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
