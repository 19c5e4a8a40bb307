/** The health endpoint: GET /health answers 200 while the pipeline runs, 503 once it failed or stopped. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts the endpoint on `port` (all interfaces, as a container health check needs); returns the server and its port. */
export async function startHealthServer(port: number, healthy: () => { ok: boolean; detail: Record<string, unknown> }): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/health') {
      const { ok, detail } = healthy();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...detail }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  server.unref();
  return { server, port: (server.address() as AddressInfo).port };
}
