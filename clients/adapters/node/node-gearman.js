'use strict'
// The `gearspec clients` adapter for npm node-gearman 0.2.2 (andris9/node-gearman): one server,
// jobs as readable streams ('data' chunks, then 'end'), workers that write and end.
//
// The library hands the application a job's WORK_DATA chunks and its WORK_COMPLETE payload alike
// as 'data', so the result the application sees is their concatenation: that is what `complete`
// reports, and the adapter does not claim the "data" capability. It has no status, warnings,
// background handles or exceptions (a throwing function can only call worker.error()).
const { requireLibrary, emit, hex, bytes, servers, serve, Commands, runScript } = require('./contract')
const Gearman = requireLibrary('node-gearman')

let gearman = null
const commands = new Commands()

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
  const end = (event, fields) => { if (ended) return; ended = true; emit(event, Object.assign({ id }, fields)); commands.ended(id) }
  if (s.timeout_ms) job.setTimeout(s.timeout_ms)
  job.on('data', (d) => chunks.push(Buffer.from(d)))
  job.on('end', () => end('complete', { data_hex: hex(Buffer.concat(chunks)) }))
  job.on('error', (e) => end('fail', { message: String(e) }))
  job.on('timeout', () => end('error', { class: 'timeout' }))
}

function jobFunction (script) {
  return (payload, worker) => {
    emit('job', { function: worker.name, handle: worker.handle, data_hex: hex(payload) })
    // The library has no call for status or warnings; error() is its only way to report a failure.
    runScript(script, {
      data: (d) => worker.write(d),
      complete: (d) => worker.end(d),
      fail: () => worker.error(),
      exception: () => worker.error()
    }, () => commands.jobFinished())
  }
}

serve({
  library: 'node-gearman',
  capabilities: ['client', 'worker', 'unique', 'priority', 'timeout', 'task_set'],
  onCommand (c) {
    switch (c.cmd) {
      case 'submit': commands.queue(c); break
      case 'run': commands.run(submit); break
      case 'register': connection().registerWorker(c.function, jobFunction(c.script || [])); break
      case 'work': commands.work(c.jobs); break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
