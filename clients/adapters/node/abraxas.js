'use strict'
// The `gearspec clients` adapter for npm abraxas 2.1.10 (iarna/abraxas): tasks that are streams and
// promises, registerWorker with task.end / task.error.
//
// The library gives the application a job's result as one value (WORK_DATA is folded into it
// unless the server streams), its progress as a percentage, and failures and exceptions alike as
// an 'error' event: the adapter reports the result as `complete` and an error as `fail`, and does
// not claim the "data", "work_status", "status" or "exceptions" capabilities.
const { requireLibrary, emit, hex, bytes, servers, serve, Commands, runScript } = require('./contract')
const Gearman = requireLibrary('abraxas')

let client = null
const commands = new Commands()

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
  const end = (event, fields) => { if (ended) return; ended = true; emit(event, Object.assign({ id }, fields)); commands.ended(id) }
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
    // Written data is buffered into the result (no WORK_DATA unless the server streams).
    runScript(script, {
      warning: (d) => task.warn(d),
      status: (d, a) => task.status(a.denominator ? a.numerator / a.denominator : 0),
      complete: (d) => task.end(d),
      fail: () => task.error(''),
      exception: (d) => task.error(d)   // the library's way to throw
    }, () => commands.jobFinished())
  }
}

serve({
  library: 'abraxas',
  capabilities: ['client', 'worker', 'background', 'unique', 'priority', 'warning', 'timeout',
    'can_do_timeout', 'several_servers', 'reconnect', 'task_set'],
  onCommand (c) {
    switch (c.cmd) {
      case 'submit': commands.queue(c); break
      case 'run': commands.run(submit); break
      case 'register': {
        const options = { encoding: 'buffer' }
        // The library takes the timeout in seconds (README, registerWorker options.timeout).
        if (c.timeout_ms) options.timeout = Math.floor(c.timeout_ms / 1000)
        getClient().registerWorker(c.function, options, jobFunction(c.function, c.script || []))
        break
      }
      case 'unregister': getClient().unregisterWorker(c.function); break
      case 'work': commands.work(c.jobs); break
      default: emit('error', { class: 'unsupported', message: 'unknown command ' + c.cmd })
    }
  }
})
