/**
 * The layers of src/ and what each may import: everything else is a forbidden arrow, and each forbidden
 * arrow is a rule of its own, so a violation names the two layers. `npm test` runs this (`npm run layers`).
 * docs/architecture.md draws the same picture.
 */
const LAYERS = {
  util: [],
  core: ['util'],
  ports: ['core'],
  config: ['core', 'util'],
  adapters: ['ports', 'core', 'util'],
  lifecycle: ['ports', 'core', 'util'],
  engine: ['lifecycle', 'adapters', 'config', 'ports', 'core', 'util'],
  cloud: ['lifecycle', 'adapters', 'config', 'ports', 'core', 'util'],
  deploy: ['adapters', 'config', 'ports', 'core', 'util'],
  api: ['config', 'ports', 'core', 'util'],
  server: ['api', 'engine', 'config', 'ports', 'core', 'util'],
  local: ['deploy', 'cloud', 'adapters', 'config', 'ports', 'core', 'util'],
  cli: ['server', 'local', 'deploy', 'cloud', 'engine', 'api', 'config', 'ports', 'core', 'util'],
};
/** The folders outside src/ that build on it: what of src/ each may use. */
const OUTER = {
  functions: ['cloud', 'api', 'adapters', 'config', 'ports', 'core', 'util'],
  infra: ['deploy', 'config', 'core', 'util'],
};

const names = Object.keys(LAYERS);
const path = (layer) => (layer in OUTER ? `^${layer}/` : `^src/${layer}/`);
const arrows = (from, allowed, among) =>
  among
    .filter((to) => to !== from && !allowed.includes(to))
    .map((to) => ({
      name: `${from}-not-to-${to}`,
      severity: 'error',
      comment: `${from} may import only ${[from, ...allowed].join(', ')}`,
      from: { path: path(from) },
      to: { path: `^src/${to}/` },
    }));

module.exports = {
  forbidden: [
    ...Object.entries(LAYERS).flatMap(([from, allowed]) => arrows(from, allowed, names)),
    ...Object.entries(OUTER).flatMap(([from, allowed]) => arrows(from, allowed, names)),
    {
      name: 'src-not-to-outer',
      severity: 'error',
      comment: 'src/ is what functions/, infra/, scripts/, bench/ and test/ build on, never the reverse',
      from: { path: '^src/', pathNot: '^src/local/' },
      to: { path: '^(functions|infra|scripts|bench|test|bin)/' },
    },
    {
      name: 'local-only-to-functions',
      severity: 'error',
      comment: 'emulator mode (src/local) runs the handlers of functions/ as the clouds would, and nothing else outside src/',
      from: { path: '^src/local/' },
      to: { path: '^(infra|scripts|bench|test|bin)/' },
    },
    {
      name: 'src-files-in-a-layer',
      severity: 'error',
      comment: `every module of src/ lives in one of the layers: ${names.join(', ')}`,
      from: { path: '^src/' },
      to: { path: `^src/(?!(${names.join('|')})/)` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
