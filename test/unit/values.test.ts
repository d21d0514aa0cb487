import { describe, expect, it } from '@jest/globals'
import fc from 'fast-check'
import { parseBoolean, parseDuration, parseList, parseMap, parseTags } from '../../src/inputs/values.ts'

describe('parseDuration', () => {
  it.each([
    ['45m', 45 * 60_000],
    ['2h', 7_200_000],
    ['90d', 90 * 86_400_000],
    ['0s', 0],
    [' 30 S ', 30_000]
  ])('reads %p as %p ms', (text, ms) => {
    expect(parseDuration('older-than', text)).toBe(ms)
  })

  it.each(['', '10', '1.5h', '-1d', '3w', 'h', '1h30m'])('refuses %p, naming the input and the units', (text) => {
    expect(() => parseDuration('older-than', text)).toThrow(/Input 'older-than'.*number with a unit s, m, h or d/)
  })

  it('reads any whole number with any unit as that many units', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.constantFrom('s', 'm', 'h', 'd'), (n, unit) => {
        const per = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit]
        expect(parseDuration('wait-timeout', `${n}${unit}`)).toBe(n * per)
      })
    )
  })
})

describe('parseList', () => {
  it('splits on commas, spaces and newlines and drops repeats', () => {
    expect(parseList('us-west-2, eu-west-1\n us-west-2  ap-south-1,,')).toEqual(['us-west-2', 'eu-west-1', 'ap-south-1'])
  })

  it('keeps every item of any list written with any separators, in order', () => {
    const item = fc.stringMatching(/^[a-z0-9-]{1,12}$/)
    const separator = fc.constantFrom(',', ' ', '\n', ', ', ' ,\n')
    fc.assert(
      fc.property(fc.uniqueArray(item, { minLength: 1, maxLength: 8 }), separator, (items, sep) => {
        expect(parseList(items.join(sep))).toEqual(items)
      })
    )
  })
})

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['False', false],
    ['', true]
  ])('reads %p', (text, value) => {
    expect(parseBoolean('no-reboot', text, true)).toBe(value)
  })

  it.each(['yes', 'on', '1', 'y'])('refuses %p (YAML 1.2 has only true and false)', (text) => {
    expect(() => parseBoolean('no-reboot', text, false)).toThrow(/Input 'no-reboot' has the value '.*': expected true or false/)
  })
})

describe('parseMap', () => {
  it('refuses a line that holds two pairs, never reading the second as part of the first value', () => {
    for (const line of ['App=web, Version=1', 'App=web, Version = 1', 'App=web,Version =1', 'App = web ,  Version=1'])
      expect(() => parseMap('tags', line)).toThrow(/one key=value pair per line/)
    expect(parseMap('tags', 'Owners=alice, bob\nNote=a=b')).toEqual(
      new Map([
        ['Owners', 'alice, bob'],
        ['Note', 'a=b']
      ])
    )
    expect(parseMap('tags', '{"Note": "a, b=c"}')).toEqual(new Map([['Note', 'a, b=c']]))
  })

  it('reads key=value lines, splitting at the first =', () => {
    expect(parseMap('tags', 'Team = web\nQuery=a=b\n\nEmpty=')).toEqual(
      new Map([
        ['Team', 'web'],
        ['Query', 'a=b'],
        ['Empty', '']
      ])
    )
  })

  it('reads a JSON object', () => {
    expect(parseMap('tags', '{"Team": "web", "Version": 3}')).toEqual(
      new Map([
        ['Team', 'web'],
        ['Version', '3']
      ])
    )
  })

  it.each([
    ['Team', /key=value on every line/],
    ['=web', /key=value on every line/],
    ['A=1\nA=2', /'A' is given twice/],
    ['{"Team": ', /JSON does not parse/],
    ['{"Team": {"x": 1}}', /'Team' holds/]
  ])('refuses %p', (text, reason) => {
    expect(() => parseMap('tags', text)).toThrow(reason)
  })

  it('reads back any map written as JSON, or as lines unless a value would swallow a pair', () => {
    const key = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.:/-]{0,20}$/)
    const value = fc.stringMatching(/^[A-Za-z0-9 _.:/=,+-]{0,30}$/).map((v) => v.trim())
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength: 10 }), (entries) => {
        const expected = new Map(entries)
        // Values with no '=' read back as lines; a value with ", Key=" in it is refused (above), never misread.
        if (entries.every(([, v]) => !v.includes('=')))
          expect(parseMap('tags', entries.map(([k, v]) => `${k}=${v}`).join('\n'))).toEqual(expected)
        if (entries.length > 0) expect(parseMap('tags', JSON.stringify(Object.fromEntries(entries)))).toEqual(expected)
      })
    )
  })
})

describe('parseTags', () => {
  it('refuses the reserved aws: prefix in any case', () => {
    expect(() => parseTags('tags', 'AWS:cloudformation=x')).toThrow(/may not start with 'aws:'/)
  })

  it('refuses a key over 128 characters and a value over 256', () => {
    expect(() => parseTags('tags', `${'k'.repeat(129)}=v`)).toThrow(/1 to 128 characters/)
    expect(() => parseTags('tags', `k=${'v'.repeat(257)}`)).toThrow(/up to 256 characters/)
  })

  it('refuses more than 50 tags', () => {
    const lines = Array.from({ length: 51 }, (_, i) => `k${i}=v`).join('\n')
    expect(() => parseTags('tags', lines)).toThrow(/at most 50 tags on a resource; 51 are given/)
  })
})
