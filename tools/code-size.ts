// Files and lines per folder of src/, the longest files and the longest functions: the figures the
// house style's limits (250 lines a file, 60 a function) are checked against.
// Run: node tools/code-size.ts [dir]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'

const root = process.argv[2] ?? 'src'

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : []
  })
}

interface Fn {
  where: string
  lines: number
}

function functionsOf(path: string, text: string): Fn[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true)
  const found: Fn[] = []
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart()).line
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line
      const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)'
      found.push({ where: `${relative('.', path)}:${start + 1} ${name}`, lines: end - start + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

const all = files(root)
const perFolder = new Map<string, { files: number; lines: number }>()
const sizes: { path: string; lines: number }[] = []
const functions: Fn[] = []
for (const path of all) {
  const text = readFileSync(path, 'utf8')
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0)
  const folder = relative('.', join(path, '..'))
  const entry = perFolder.get(folder) ?? { files: 0, lines: 0 }
  perFolder.set(folder, { files: entry.files + 1, lines: entry.lines + lines })
  sizes.push({ path: relative('.', path), lines })
  functions.push(...functionsOf(path, text))
}
console.log('| folder | files | lines |\n|---|---|---|')
for (const [folder, { files: count, lines }] of [...perFolder].sort()) console.log(`| ${folder} | ${count} | ${lines} |`)
const total = [...perFolder.values()].reduce((sum, entry) => ({ files: sum.files + entry.files, lines: sum.lines + entry.lines }), {
  files: 0,
  lines: 0
})
console.log(`| total | ${total.files} | ${total.lines} |`)
console.log('\nLongest files:')
for (const { path, lines } of sizes.sort((a, b) => b.lines - a.lines).slice(0, 5)) console.log(`  ${lines} ${path}`)
console.log('\nLongest functions:')
for (const { where, lines } of functions.sort((a, b) => b.lines - a.lines).slice(0, 5)) console.log(`  ${lines} ${where}`)
