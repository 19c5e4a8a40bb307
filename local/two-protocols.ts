/**
 * One port that speaks both HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge) for one
 * HTTP/1.1 server's request handler. The AWS SDK v3 Kinesis client uses an HTTP/2 handler for every
 * call by default (`NodeHttp2Handler`; against an `http://` endpoint that is h2c with prior
 * knowledge), while kinesalite, the AWS CLI and clients with `NodeHttpHandler` speak HTTP/1.1. Each
 * connection's first bytes decide: the HTTP/2 connection preface (`PRI * HTTP/2.0`) goes to an
 * HTTP/2 server running the same handler through Node's compatibility API, anything else to the
 * HTTP/1.1 server itself.
 */
import http2 from 'node:http2';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, type Server as NetServer, type Socket } from 'node:net';

const PREFACE = Buffer.from('PRI * HTTP/2.0');
/** Headers HTTP/2 forbids (RFC 9113 §8.2.2); an HTTP/1.1 handler may set them. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** The front server and how to stop it with every connection it took. */
export interface TwoProtocolServer {
  readonly server: NetServer;
  close(): Promise<void>;
}

/** Serves `http1`'s request handlers on a new TCP server over HTTP/1.1 and h2c. Listen on `server`. */
export function serveBothProtocols(http1: Server): TwoProtocolServer {
  const h2 = http2.createServer();
  for (const listener of http1.listeners('request')) {
    const handler = listener as (req: IncomingMessage, res: ServerResponse) => void;
    h2.on('request', (req, res) => {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name: string, value: number | string | readonly string[]) => (CONNECTION_HEADERS.has(name.toLowerCase()) ? res : setHeader(name, value));
      handler(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    });
  }
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const route = (): void => {
      socket.off('data', onData);
      socket.off('end', route);
      socket.pause();
      socket.unshift(head);
      const isHttp2 = head.length >= PREFACE.length && head.subarray(0, PREFACE.length).equals(PREFACE);
      (isHttp2 ? h2 : http1).emit('connection', socket);
      process.nextTick(() => socket.resume());
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      // Enough to tell: the preface, or bytes that cannot begin it.
      if (head.length >= PREFACE.length || !PREFACE.subarray(0, head.length).equals(head)) route();
    };
    socket.on('data', onData);
    socket.once('end', route);
    socket.on('error', () => socket.destroy());
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        h2.close();
        server.close(() => resolve());
      }),
  };
}
