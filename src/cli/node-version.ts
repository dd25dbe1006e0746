/** The oldest Node.js fanout runs on: the first 22.x that strips TypeScript types without a flag. */
export const MINIMUM_NODE = '22.18.0';

const parts = (version: string): number[] => version.split('.').map(Number);

export const isSupportedNode = (version: string = process.versions.node): boolean => {
  const [major = 0, minor = 0, patch = 0] = parts(version);
  const [minMajor = 0, minMinor = 0, minPatch = 0] = parts(MINIMUM_NODE);
  return major !== minMajor ? major > minMajor : minor !== minMinor ? minor > minMinor : patch >= minPatch;
};

/**
 * Exits with 2 and says why on a Node.js older than fanout needs, before anything that would fail there
 * with a less helpful error (Node 20, the system Node on many machines, has no `module.enableCompileCache`).
 */
export const exitUnlessSupportedNode = (): void => {
  if (isSupportedNode()) return;
  process.stderr.write(
    `fanout: needs Node.js ${MINIMUM_NODE} or newer, and this is ${process.version}; in this project, npm start, npm test and npx fanout use the Node that npm install put in node_modules/.bin\n`,
  );
  process.exit(2);
};
