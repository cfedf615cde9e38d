'use strict'
// The interop driver for the npm package `gearman` (mreinstein/node-gearman): a thin client and
// worker that emit one event per packet. Same command line as every driver here (../README.md).
const fs = require('fs')
const gearman = require('gearman')

const TIMEOUT_MS = 15000
const [role, ...args] = process.argv.slice(2)
const out = (value) => process.stdout.write(JSON.stringify(value) + '\n')
const fail = (why, value) => { process.stderr.write(why + '\n'); if (value) out(value); process.exit(1) }
setTimeout(() => fail('timed out after ' + TIMEOUT_MS + ' ms', seen), TIMEOUT_MS).unref()
let seen = null

function waitForFile(path, then) {
  if (fs.existsSync(path)) return then()
  setTimeout(() => waitForFile(path, then), 10)
}

if (role === 'worker') {
  const [port, fn, jobs, runs, updates, release] = args
  const w = gearman('127.0.0.1', Number(port))
  let done = 0
  w.on('error', (e) => fail('worker: ' + e))
  w.on('NOOP', () => w.grabJob())
  w.on('NO_JOB', () => w.preSleep())
  w.on('JOB_ASSIGN', (job) => {
    fs.appendFileSync(runs, 'run\n')
    if (updates === '1') {
      w.sendWorkStatus(job.handle, '1', '2')
      w.sendWorkData(job.handle, 'part')
    }
    const finish = () => {
      w.sendWorkComplete(job.handle, job.payload.toString().split('').reverse().join(''))
      if (++done === Number(jobs)) { out({ jobs: done }); w.close(); process.exit(0) }
      w.grabJob()
    }
    release === '-' ? finish() : waitForFile(release, finish)
  })
  w.connect(() => { w.addFunction(fn); w.grabJob() })
} else {
  const [kase, port, fn, data, unique, release] = args
  const c = gearman('127.0.0.1', Number(port))
  seen = { status: [], data: [], results: [] }
  c.on('error', (e) => fail('client: ' + e, seen))
  c.on('WORK_STATUS', (p) => seen.status.push([Number(p.percent_num), Number(p.percent_den)]))
  c.on('WORK_DATA', (p) => seen.data.push(p.payload.toString()))
  c.on('WORK_FAIL', () => seen.results.push(null))
  const submissions = kase === 'twice' ? 2 : 1
  const finishWhen = () => {
    if (seen.results.length === submissions) {
      out(kase === 'plain' ? { result: seen.results[0] } : seen)
      c.close()
      process.exit(0)
    }
  }
  c.on('WORK_COMPLETE', (p) => { seen.results.push(p.payload.toString()); finishWhen() })
  if (kase === 'background') {
    const statuses = []
    seen = { statuses }
    let handle = null
    c.on('JOB_CREATED', (h) => { handle = h; c.getJobStatus(h) })
    c.on('STATUS_RES', (s) => {
      const now = [s.known === '1', s.running === '1', Number(s.percent_done_num), Number(s.percent_done_den)]
      if (!statuses.length || JSON.stringify(statuses[statuses.length - 1]) !== JSON.stringify(now)) statuses.push(now)
      if (now[0] && now[1] && now[2] === 1 && !fs.existsSync(release)) fs.writeFileSync(release, '')
      if (!now[0]) { out({ statuses }); c.close(); process.exit(0) }
      setTimeout(() => c.getJobStatus(handle), 10)
    })
    c.connect(() => c.submitJob(fn, data, { unique_id: unique, background: true }))
  } else {
    c.connect(() => {
      for (let i = 0; i < submissions; i++) c.submitJob(fn, data, { unique_id: unique })
    })
  }
}
