// A TCP proxy on 127.0.0.1 in front of the server, whose "network" a test can cut (every open
// connection reset, new ones refused) and restore: a network drop for one browser while the
// server and everyone else carry on.

import { createServer, connect, type Socket } from "node:net";

export class CuttableProxy {
  private readonly sockets = new Set<Socket>();
  private up = true;
  private port = 0;
  private readonly server = createServer((client) => this.accept(client));

  private constructor(private readonly targetPort: number) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    const address = proxy.server.address();
    proxy.port = typeof address === "object" && address ? address.port : 0;
    return proxy;
  }

  private accept(client: Socket) {
    if (!this.up) {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPort, "127.0.0.1");
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      this.sockets.add(from);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        this.sockets.delete(from);
        to.destroy();
      });
      from.pipe(to);
    }
  }

  /** Resets every connection and refuses new ones until [`restore`]. */
  cut() {
    this.up = false;
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  restore() {
    this.up = true;
  }

  async close() {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
