// The real server binary as a child process: started on a free 127.0.0.1 port, ready once
// /readyz answers 200, stoppable and restartable on the same port, its stderr kept for failure
// output.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";

/** The server binary: MESSENGER_BIN (cargo sets it for tests/web.rs), else the debug build. */
export function serverBinary(): string {
  const bin =
    process.env.MESSENGER_BIN ?? path.resolve(import.meta.dirname, "../../target/debug/messenger");
  if (!existsSync(bin)) {
    throw new Error(`no server binary at ${bin}: run \`cargo build\` or set MESSENGER_BIN`);
  }
  return bin;
}

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Error(
      "DATABASE_URL is not set: the end-to-end tests need a PostgreSQL database of their own " +
        "(cargo test sets one up; by hand: DATABASE_URL=postgres://root@127.0.0.1:5432/messenger_e2e)",
    );
  }
  return url;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const LOG_LINES = 400;

/**
 * Every server of the tests gets these: limits meant for people, not for a test that signs up
 * dozens of accounts from one address and creates 200 groups in a second, are raised.
 */
const TEST_ENV: Record<string, string> = {
  MESSENGER_TOKEN_KEY: "end-to-end tests' signing key, longer than 32 bytes",
  MESSENGER_REGISTRATIONS_PER_ADDRESS_PER_HOUR: "100000",
  MESSENGER_GROUP_CHANGES_PER_MINUTE: "100000",
  MESSENGER_MESSAGES_PER_MINUTE: "100000",
  MESSENGER_UPLOADS_PER_MINUTE: "1000",
  MESSENGER_TYPING_PER_MINUTE: "100000",
  MESSENGER_SIGNIN_FAILURES_PER_ADDRESS: "100000",
  MESSENGER_RUN_MIGRATIONS: "true",
  RUST_LOG: "info,memory_serve=warn",
  NO_COLOR: "1",
};

export class ServerProcess {
  readonly port: number;
  readonly url: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private readonly log: string[] = [];

  private constructor(
    port: number,
    private readonly dataDir: string,
    private readonly env: Record<string, string>,
  ) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts a server in its own data folder under MESSENGER_DATA_DIR (or the OS's temp). */
  static async start(name: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const root = process.env.MESSENGER_DATA_DIR ?? path.join(process.env.TMPDIR ?? "/tmp", "messenger-e2e");
    const dataDir = path.join(root, `${name}-${process.pid}-${Date.now().toString(36)}`);
    mkdirSync(dataDir, { recursive: true });
    const server = new ServerProcess(await freePort(), dataDir, env);
    await server.startProcess();
    return server;
  }

  /** The last lines the server wrote to stderr (all its starts), for failure messages. */
  logTail(): string {
    return this.log.join("\n");
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** Starts it again on the same port and data folder, after [`stop`]. */
  async restart(): Promise<void> {
    if (this.child) throw new Error("restart() of a server that runs");
    await this.startProcess();
  }

  private push(line: string) {
    this.log.push(line);
    if (this.log.length > LOG_LINES) this.log.splice(0, this.log.length - LOG_LINES);
  }

  private async startProcess(): Promise<void> {
    this.push(`--- starting the server on ${this.url} (${new Date().toISOString()})`);
    const child = spawn(serverBinary(), [], {
      env: {
        ...process.env,
        ...TEST_ENV,
        DATABASE_URL: databaseUrl(),
        MESSENGER_LISTEN: `127.0.0.1:${this.port}`,
        MESSENGER_DATA_DIR: this.dataDir,
        ...this.env,
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    this.child = child;
    let partial = "";
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) this.push(line);
    });
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        if (partial) this.push(partial);
        partial = "";
        this.push(`--- the server exited (code ${code}, signal ${signal})`);
        if (this.child === child) this.child = null;
        resolve();
      });
    });
    // Ready once /readyz answers 200 (the database answers, migrations are done).
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (this.child !== child) {
        throw new Error(`the server exited while starting:\n${this.logTail()}`);
      }
      try {
        const answer = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (answer.status === 200) return;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`the server was not ready within 60 s:\n${this.logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * Stops it: SIGTERM (the server closes sockets with 1001 after flushing), SIGKILL if it is
   * still there 10 s later. `kill: true` goes straight to SIGKILL.
   */
  async stop(options: { kill?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(options.kill ? "SIGKILL" : "SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}
