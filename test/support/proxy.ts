// A forward proxy on 127.0.0.1 that records what passed through it, for the proxy test.
import { createServer, request, type Server } from 'node:http'
import { connect } from 'node:net'

export interface Proxy {
  url: string
  /** Request lines seen: "POST http://127.0.0.1:1234/" or "CONNECT host:port". */
  seen: string[]
  stop(): Promise<void>
}

export async function startProxy(): Promise<Proxy> {
  const seen: string[] = []
  const server: Server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`)
    const target = new URL(req.url ?? '')
    const upstream = request(target, { method: req.method, headers: req.headers }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers)
      reply.pipe(res)
    })
    upstream.on('error', () => res.destroy())
    req.pipe(upstream)
  })
  // HTTPS targets arrive as CONNECT tunnels.
  server.on('connect', (req, socket, head) => {
    seen.push(`CONNECT ${req.url}`)
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address')
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
