import { connect, createServer, type Server, type Socket } from 'node:net';

/*
 * Latency on the wire: a loopback TCP proxy that holds every chunk for `delayMs` in each direction before passing it
 * on, in order. A request and its response then cost one round trip (2 × delayMs) and a new connection pays its TCP
 * and TLS handshakes in round trips too, as over a real network, whatever the protocol on top (HTTPS to VB365, HTTP
 * to the local DynamoDB and SNS stand-ins). `dropConnections()` closes every open connection, as an idle timeout of
 * a NAT or a load balancer does between two cycles five minutes apart, so the next cycle reconnects.
 */

export interface LatencyProxy {
  /** host:port of the proxy, to use in place of the target's. */
  readonly port: number;
  readonly delayMs: number;
  /** Connections accepted so far. */
  readonly connections: number;
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startLatencyProxy(targetPort: number, delayMs: number): Promise<LatencyProxy> {
  const open = new Set<Socket>();
  let connections = 0;
  const pipeDelayed = (from: Socket, to: Socket) => {
    // Each chunk leaves `delayMs` after it arrived; timers of equal delay fire in order, so order is kept.
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delayMs);
    });
    from.on('end', () => setTimeout(() => to.end(), delayMs));
  };
  const server: Server = createServer((client) => {
    connections += 1;
    client.setNoDelay(true);
    // The connection to the target is made at once; the client's handshake bytes reach it `delayMs` later.
    const upstream = connect({ port: targetPort, host: '127.0.0.1', noDelay: true });
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    pipeDelayed(client, upstream);
    pipeDelayed(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('bench: the latency proxy has no port');
  return {
    port: address.port,
    delayMs,
    get connections() {
      return connections;
    },
    dropConnections() {
      for (const s of open) s.destroy();
      open.clear();
    },
    close() {
      for (const s of open) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` with its host and port replaced by the proxy's. */
export function viaProxy(url: string, proxy: LatencyProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString().replace(/\/$/, '');
}
