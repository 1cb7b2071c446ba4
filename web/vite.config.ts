/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The backend the dev server forwards API calls to (`npm run dev` against a running
// `cargo run`): GraphQL over HTTP and WebSocket, and the media route.
const backend = process.env.MESSENGER_BACKEND ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The server embeds dist/ and serves `assets/` with a year-long cache: every file there
    // is named by its content.
    assetsDir: "assets",
    sourcemap: false,
    rollupOptions: {
      input: {
        index: "index.html",
        graphiql: "graphiql.html",
      },
    },
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: {
      "/graphql/ws": { target: backend, ws: true },
      "/graphql": { target: backend },
      "/media": { target: backend },
    },
  },
  test: {
    include: ["src/**/*.test.ts", "src/**/*.test.tsx"],
    environment: "node",
  },
});
