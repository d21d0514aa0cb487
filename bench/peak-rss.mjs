// Preloaded into both the action and the floor (node --import): on exit, writes the process's peak
// resident memory in KiB to $PEAK_RSS_FILE. Same cost for both, so the comparison stays fair.
import { writeFileSync } from 'node:fs'

process.on('exit', () => {
  if (process.env.PEAK_RSS_FILE) writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS))
})
