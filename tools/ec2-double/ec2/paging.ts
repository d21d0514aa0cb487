// EC2 API Reference, "Pagination": with MaxResults, EC2 answers a page and a NextToken, and may
// answer fewer items than asked. moto returns everything (or pages some actions on its own), so the
// double asks moto for all of it, edits the answer, and pages it itself.
import type { Caller } from '../caller.ts'
import type { Reply } from '../protocol.ts'
import { child, leaf, parseXml, serializeXml, type XmlElement } from '../xml.ts'

/**
 * Forwards without MaxResults/NextToken (`askForAll` for actions moto pages itself), edits the
 * answer, then serves it a page at a time; FrontOptions.pageSize caps a page. `send` asks moto (or
 * more than moto: DescribeImages adds images other accounts share).
 */
export async function paginated(
  caller: Caller,
  params: URLSearchParams,
  setName: string,
  edit?: (xml: XmlElement) => void | Promise<void>,
  askForAll = false,
  send: (params: URLSearchParams) => Promise<Reply> = (rest) => caller.send(rest)
): Promise<Reply> {
  const asked = Number(params.get('MaxResults') ?? 0)
  const pageSize = caller.options.pageSize
  const maxResults = asked > 0 && pageSize ? Math.min(asked, pageSize) : asked
  const offset = Number(params.get('NextToken') ?? 0)
  const rest = new URLSearchParams(params)
  rest.delete('MaxResults')
  rest.delete('NextToken')
  if (askForAll) rest.set('MaxResults', '1000000')
  const reply = await send(rest)
  if (reply.status >= 400) return reply
  const xml = parseXml(reply.body)
  await edit?.(xml)
  const set = child(xml, setName)
  if (maxResults > 0 && set) {
    const all = set.children.filter((c) => c.name === 'item')
    set.children = all.slice(offset, offset + maxResults)
    xml.children = xml.children.filter((c) => c.name !== 'nextToken')
    if (offset + maxResults < all.length) xml.children.push(leaf('nextToken', String(offset + maxResults)))
  }
  return { status: 200, body: serializeXml(xml) }
}
