// Bundles the CLI and the engine's worker into dist/ with esbuild: Node then loads plain JavaScript, one
// file per entry, instead of stripping the types of ~60 TypeScript modules in the main thread and again
// in every worker thread. Run by `npm run build`, and by npm itself on `npm ci` (the `prepare` script).
// The dashboard (dashboard/) goes to dist/dashboard/: one script, one style sheet and the page, no CDN.
// Plain JavaScript so that it runs on any Node, before anything has been built.
import { copyFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const root = new URL('../', import.meta.url);
const outdir = new URL('dist/', root).pathname;

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root.pathname,
  // Names as src/engine/engine.ts expects them: it starts `worker.js` next to itself when bundled.
  entryPoints: { fanout: 'bin/fanout.ts', worker: 'src/engine/worker.ts' },
  outdir,
  bundle: true,
  // Code both entries use lands in shared chunks next to them, and the server (loaded only by `serve`)
  // in a chunk of its own. Chunks stay in dist/ itself: the engine finds its worker relative to its own URL.
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.18',
  // piscina starts its own worker script by a path relative to its package; google-gax reads .proto
  // files from beside its own code. Both load from node_modules.
  external: ['piscina', '@google-cloud/pubsub', '@google-cloud/functions-framework', 'google-gax'],
  // The CommonJS dependencies bundled here (commander, yaml, ...) call require().
  banner: { js: "import { createRequire as __fanoutRequire } from 'node:module';\nconst require = __fanoutRequire(import.meta.url);" },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});

// `fanout emulators` starts moto through this script, found next to the code that starts it.
copyFileSync(new URL('src/local/moto_server_serialized.py', root), `${outdir}moto_server_serialized.py`);

const dashboard = `${outdir}dashboard/`;
await build({
  absWorkingDir: root.pathname,
  // app.js and app.css: the style sheets the script imports (its own, uPlot's) land in app.css.
  entryPoints: { app: 'dashboard/src/main.tsx' },
  outdir: dashboard,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
});
for (const file of ['index.html', 'icon.svg']) copyFileSync(new URL(`dashboard/${file}`, root), dashboard + file);
