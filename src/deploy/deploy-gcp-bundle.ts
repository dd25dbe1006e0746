import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * Packages the function loads from node_modules rather than from the bundle: the Functions Framework
 * must be the very module that runs the function (it holds the registry `cloudEvent()` writes to), and
 * the Pub/Sub client (with the auth library it shares credentials with) reads its own .proto files at
 * run time. Cloud Build installs them from the package.json written beside the bundle.
 */
export const GOOGLE_FUNCTION_DEPENDENCIES = [
  '@google-cloud/functions-framework',
  '@google-cloud/pubsub',
  'google-auth-library',
] as const;

const installedVersion = async (root: string, name: string): Promise<string> =>
  (
    JSON.parse(await readFile(join(root, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

/**
 * Bundles `functions/process-gcp/index.ts` into `outDir` as the source `gcloud functions deploy` uploads:
 * one ES module (`index.js`) and a package.json that names it and pins the external packages to the
 * versions installed here, the ones the tests ran with.
 */
export const bundleGoogleFunction = async (root: string, outDir: string): Promise<void> => {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [join(root, 'functions/process-gcp/index.ts')],
    outfile: join(outDir, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node22',
    external: [...GOOGLE_FUNCTION_DEPENDENCIES],
    // Bundled CommonJS dependencies call require() and read __dirname.
    banner: {
      js: "import { createRequire as __fanoutCreateRequire } from 'node:module'; const require = __fanoutCreateRequire(import.meta.url); const __filename = import.meta.filename; const __dirname = import.meta.dirname;",
    },
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const dependencies = Object.fromEntries(
    await Promise.all(
      GOOGLE_FUNCTION_DEPENDENCIES.map(async (name) => [name, await installedVersion(root, name)]),
    ),
  );
  const manifest = {
    name: 'fanout-process-gcp',
    private: true,
    type: 'module',
    main: 'index.js',
    dependencies,
  };
  await writeFile(join(outDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
};
