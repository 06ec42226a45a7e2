import net from 'node:net';

export interface TcpRelay {
  /** The target's URL with this relay's host and port. */
  url: string;
  /** Cuts every connection and closes the port: the database went away (ECONNREFUSED). */
  stop(): Promise<void>;
  /**
   * The database stops answering while every TCP connection stays up (a hung server, a black-holed failover
   * address): bytes either way are held, new connections are accepted and not passed on.
   */
  freeze(): void;
  /** Passes on what was held, and connects the connections accepted meanwhile. */
  thaw(): void;
}

/**
 * A TCP relay in front of the test's PostgreSQL server, so that the app's pools meet what they would meet when
 * their database goes away or hangs, while the shared test cluster itself keeps running for the other tests.
 */
export async function startTcpRelay(target: URL): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const held: Array<() => void> = [];
  const hold = (pass: () => void) => (frozen ? held.push(pass) : pass());

  function relay(client: net.Socket): void {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.on('data', (chunk: Buffer) => hold(() => b.write(chunk)));
    }
  }
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    hold(() => relay(client));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    async stop() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      for (const pass of held.splice(0)) pass();
    },
  };
}
