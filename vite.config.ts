import { vitePlugin as remix } from "@remix-run/dev";
import { defineConfig } from "vite";

declare module "@remix-run/node" {
  interface Future {
    v3_singleFetch: true;
  }
}

// Remix reads package.json from the Vite root, so this file lives at the repository root and
// points the plugin at web/app (one package.json for the whole platform).
export default defineConfig({
  plugins: [
    remix({
      appDirectory: "web/app",
      buildDirectory: "build/web",
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
      },
    }),
  ],
  resolve: { alias: { "~": new URL("./web/app", import.meta.url).pathname } },
  // Server-side dependencies stay in node_modules instead of being bundled into the server build.
  ssr: { external: ["pg", "pg-boss", "kysely", "pino", "@sentry/node", "ioredis"] },
});
