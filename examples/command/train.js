// A stand-in "trainer" for the command kind: counts steps, prints a loss, and stops cleanly on SIGTERM.
const steps = Number(process.env.STEPS || 5)
let loss = 1
let stopping = false
process.on('SIGTERM', () => {
  stopping = true
})
console.log(`${process.env.GREETING || 'hello'} (run ${process.env.RFM_RUN_ID}, attempt ${process.env.RFM_ATTEMPT})`)
let step = 0
const timer = setInterval(() => {
  step += 1
  loss *= 0.8
  console.log(`step ${step}/${steps} loss ${loss.toFixed(4)}`)
  if (step >= steps || stopping) {
    clearInterval(timer)
    console.log(stopping ? 'stopped early on SIGTERM' : 'done')
    // Exit 0 tells rfm the job is finished; a trainer stopped early must say otherwise.
    if (stopping) process.exitCode = 143
  }
}, 200)
