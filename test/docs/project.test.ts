// What an organisation checks before adopting an action: a licence, a security policy, a guide for
// contributors, dependency updates, Marketplace metadata, and one version everywhere.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { parse } from 'yaml'

const ROOT = new URL('../..', import.meta.url).pathname
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8')
const pkg = JSON.parse(read('package.json')) as { version: string; license: string }

describe('the project', () => {
  it('is MIT-licensed, as package.json says, with a security policy and a contributing guide', () => {
    expect(pkg.license).toBe('MIT')
    expect(read('LICENSE')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /)
    expect(read('SECURITY.md')).toMatch(/Report a\s+vulnerability/)
    expect(read('CONTRIBUTING.md')).toMatch(/## Cutting a release/)
  })

  it('has Dependabot update npm packages and the SHA-pinned actions of its workflows', () => {
    const config = parse(read('.github/dependabot.yml')) as { version: number; updates: { 'package-ecosystem': string }[] }
    expect(config.version).toBe(2)
    expect(config.updates.map((update) => update['package-ecosystem']).sort()).toEqual(['github-actions', 'npm'])
  })

  it('has Marketplace metadata: a description under 125 characters and an author', () => {
    const action = parse(read('action.yml')) as { description: string; author: string }
    expect(action.description.length).toBeLessThan(125)
    expect(action.author.trim()).not.toBe('')
  })

  it('has one version in package.json, package-lock.json and a dated CHANGELOG section, as the release script checks', () => {
    expect((JSON.parse(read('package-lock.json')) as { version: string }).version).toBe(pkg.version)
    const changelog = read('CHANGELOG.md')
    expect(changelog).toMatch(/^## \[Unreleased\]$/m)
    const released = [...changelog.matchAll(/^## \[(\d+\.\d+\.\d+)\](.*)$/gm)]
    expect(released[0]?.[1]).toBe(pkg.version)
    for (const [, version, rest] of released) {
      expect([version, rest]).toEqual([version, expect.stringMatching(/^ - \d{4}-\d{2}-\d{2}$/)])
      expect(changelog).toMatch(new RegExp(`^\\[${version!.replace(/\./g, '\\.')}\\]: https://`, 'm'))
    }
    const check = spawnSync('bash', [join(ROOT, 'scripts/release.sh'), '--check'], { encoding: 'utf8' })
    expect(check.stderr).toBe('')
    expect(check.stdout).toContain(`agree on ${pkg.version}`)
    expect(existsSync(join(ROOT, '.github/CODEOWNERS'))).toBe(true)
  })
})
