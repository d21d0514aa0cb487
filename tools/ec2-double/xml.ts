// Just enough XML for the EC2 query protocol's replies (elements, text, an xmlns attribute), so the
// front can edit moto's answers as a tree rather than with fragile string surgery.

export interface XmlElement {
  name: string
  attributes: string
  children: XmlElement[]
  /** Text content of a leaf element (already unescaped). */
  text: string
}

export function parseXml(source: string): XmlElement {
  const body = source.replace(/^<\?xml[^>]*\?>\s*/, '')
  const root: XmlElement = { name: '#root', attributes: '', children: [], text: '' }
  const stack: XmlElement[] = [root]
  const token = /<(\/?)([A-Za-z_][\w.:-]*)([^>]*?)(\/?)>|([^<]+)/g
  for (const match of body.matchAll(token)) {
    const [, closing, name, attributes, selfClosing, text] = match
    const parent = stack.at(-1)!
    if (text !== undefined) {
      parent.text += unescape(text)
    } else if (closing) {
      stack.pop()
    } else {
      const element: XmlElement = { name: name!, attributes: attributes ?? '', children: [], text: '' }
      parent.children.push(element)
      if (!selfClosing) stack.push(element)
    }
  }
  return root.children[0]!
}

export function serializeXml(element: XmlElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${serialize(element)}`
}

function serialize(element: XmlElement): string {
  const inner = element.children.length > 0 ? element.children.map(serialize).join('') : escape(element.text)
  return `<${element.name}${element.attributes}>${inner}</${element.name}>`
}

export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name)
}

export function textOf(element: XmlElement, name: string): string | undefined {
  return child(element, name)?.text
}

/** Sets (or adds) a leaf child's text. */
export function setText(element: XmlElement, name: string, text: string): void {
  const existing = child(element, name)
  if (existing) {
    existing.children = []
    existing.text = text
  } else {
    element.children.push({ name, attributes: '', children: [], text })
  }
}

export function leaf(name: string, text: string): XmlElement {
  return { name, attributes: '', children: [], text }
}

export function node(name: string, children: XmlElement[]): XmlElement {
  return { name, attributes: '', children, text: '' }
}

/** The `item` children of a set element (`imagesSet`, `snapshotSet`, …). */
export function items(element: XmlElement, setName: string): XmlElement[] {
  return child(element, setName)?.children.filter((c) => c.name === 'item') ?? []
}

function unescape(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, entity: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[entity]!)
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
