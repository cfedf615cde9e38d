'use strict'
// The interop driver for the npm package `gearmanode` (veny/GearmaNode): a client with one job
// object per submission and events per job. Same command line as every driver here (../README.md).
const fs = require('fs')
const gearmanode = require('gearmanode')


const TIMEOUT_MS = 15000
const [role, ...args] = process.argv.slice(2)
const out = (value) => process.stdout.write(JSON.stringify(value) + '\n')
let seen = null
const fail = (why) => { process.stderr.write(why + '\n'); if (seen) out(seen); process.exit(1) }
setTimeout(() => fail('timed out after ' + TIMEOUT_MS + ' ms'), TIMEOUT_MS).unref()

function waitForFile(path, then) {
  if (fs.existsSync(path)) return then()
  setTimeout(() => waitForFile(path, then), 10)
}

if (role === 'worker') {
  const [port, fn, jobs, runs, updates, release] = args
  const w = gearmanode.worker({ host: '127.0.0.1', port: Number(port) })
  let done = 0
  w.on('error', (e) => fail('worker: ' + e))
  w.addFunction(fn, (job) => {
    fs.appendFileSync(runs, 'run\n')
    if (updates === '1') {
      job.reportStatus(1, 2)
      job.sendWorkData('part')
    }
    waitForFile(release === '-' ? runs : release, () => {
      job.workComplete(job.payload.toString().split('').reverse().join(''))
      if (++done === Number(jobs)) {
        out({ jobs: done })
        setTimeout(() => process.exit(0), 50)  // let the WORK_COMPLETE go out
      }
    })
  })
} else {
  const [kase, port, fn, data, unique, release] = args
  const c = gearmanode.client({ host: '127.0.0.1', port: Number(port) })
  c.on('error', (e) => fail('client: ' + e))
  if (kase === 'background') {
    const statuses = []
    seen = { statuses }
    const job = c.submitJob(fn, data, { unique, background: true })
    job.on('created', () => job.getStatus())
    job.on('status', (s) => {
      const now = [s.known, s.running, Number(s.percent_done_num), Number(s.percent_done_den)]
      if (!statuses.length || JSON.stringify(statuses[statuses.length - 1]) !== JSON.stringify(now)) statuses.push(now)
      if (now[0] && now[1] && now[2] === 1 && !fs.existsSync(release)) fs.writeFileSync(release, '')
      if (!now[0]) { out({ statuses }); c.close(); process.exit(0) }
      setTimeout(() => job.getStatus(), 10)
    })
  } else {
    seen = { status: [], data: [], results: [] }
    const submissions = kase === 'twice' ? 2 : 1
    for (let i = 0; i < submissions; i++) {
      const job = c.submitJob(fn, data, { unique, toStringEncoding: 'utf8' })
      job.on('status', (s) => seen.status.push([Number(s.percent_done_num), Number(s.percent_done_den)]))
      job.on('workData', (d) => seen.data.push(d))
      job.on('failed', () => seen.results.push(null))
      job.on('complete', () => {
        seen.results.push(job.response)
        if (seen.results.length === submissions) {
          out(kase === 'plain' ? { result: seen.results[0] } : seen)
          c.close()
          process.exit(0)
        }
      })
    }
  }
}
