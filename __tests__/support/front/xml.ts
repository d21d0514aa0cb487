// Enough XML for EC2's query protocol (elements, text, attributes kept verbatim), so the front edits
// moto's replies as a tree rather than by string surgery. EC2 replies have no mixed content.

export interface XmlElement {
  name: string
  /** The start tag's attributes as written, e.g. ` xmlns="…"`. */
  attributes: string
  children: XmlElement[]
  /** Text of a leaf, unescaped. */
  text: string
}

const TOKEN = /<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g

export function parseXml(source: string): XmlElement {
  const root: XmlElement = { name: '#document', attributes: '', children: [], text: '' }
  const stack: XmlElement[] = [root]
  for (const [, cdata, closing, name, attributes, selfClosing, text] of source.matchAll(TOKEN)) {
    const parent = stack.at(-1)!
    if (cdata !== undefined) parent.text += cdata
    else if (text !== undefined) parent.text += unescapeXml(text)
    else if (name === undefined) continue
    else if (closing) {
      if (stack.length > 1) stack.pop()
    } else {
      const element: XmlElement = { name, attributes: attributes ?? '', children: [], text: '' }
      parent.children.push(element)
      if (!selfClosing) stack.push(element)
    }
  }
  const top = root.children[0]
  if (!top) throw new Error(`not XML: ${source.slice(0, 200)}`)
  return top
}

export function serializeXml(element: XmlElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(element)}`
}

function serialize(element: XmlElement): string {
  const inner = element.children.length > 0 ? element.children.map(serialize).join('') : escapeXml(element.text)
  return `<${element.name}${element.attributes}>${inner}</${element.name}>`
}

export function leaf(name: string, text: string): XmlElement {
  return { name, attributes: '', children: [], text }
}

export function branch(name: string, children: XmlElement[]): XmlElement {
  return { name, attributes: '', children, text: '' }
}

export function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name)
}

export function textOf(element: XmlElement | undefined, name: string): string | undefined {
  return child(element, name)?.text
}

/** Sets a leaf child's text, adding the leaf when it is missing. */
export function setText(element: XmlElement, name: string, text: string): void {
  const existing = child(element, name)
  if (existing) Object.assign(existing, { children: [], text })
  else element.children.push(leaf(name, text))
}

/** Replaces the named child (or adds it). */
export function putChild(element: XmlElement, replacement: XmlElement): void {
  const at = element.children.findIndex((c) => c.name === replacement.name)
  if (at >= 0) element.children[at] = replacement
  else element.children.push(replacement)
}

/** The `item`s of a list element such as `imagesSet` or `blockDeviceMapping`. */
export function items(element: XmlElement | undefined, listName: string): XmlElement[] {
  return child(element, listName)?.children.filter((c) => c.name === 'item') ?? []
}

/** Keeps the `item`s of a list element that pass `keep`. */
export function keepItems(element: XmlElement, listName: string, keep: (item: XmlElement) => boolean): void {
  const list = child(element, listName)
  if (list) list.children = list.children.filter((c) => c.name !== 'item' || keep(c))
}

/** EC2's error document; HTTP 400 for the caller's mistakes, 5xx for the service's. */
export function errorXml(code: string, message: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`
  )
}

/** A success reply for an action moto does not answer itself. */
export function okXml(action: string, requestId: string, children: XmlElement[]): string {
  return serializeXml({
    name: `${action}Response`,
    attributes: ' xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"',
    children: [leaf('requestId', requestId), ...children],
    text: ''
  })
}

/** The error code in an EC2 error document, if it is one. */
export function errorCodeOf(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1]
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16))
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10))
    return ENTITIES[entity] ?? whole
  })
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
