// Once per run: the database's migrations are applied by one process before the workers'
// servers start on it (two servers migrating one fresh database at once would race).

import { spawnSync } from "node:child_process";
import { databaseUrl, serverBinary } from "./server";

export default function globalSetup() {
  const migrate = spawnSync(serverBinary(), ["migrate"], {
    env: { ...process.env, DATABASE_URL: databaseUrl(), NO_COLOR: "1" },
    encoding: "utf8",
    timeout: 60_000,
  });
  if (migrate.status !== 0) {
    throw new Error(
      `\`messenger migrate\` failed (${migrate.status ?? migrate.signal ?? migrate.error}):\n${migrate.stderr}`,
    );
  }
}
