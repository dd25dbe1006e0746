import { setFlagsFromString } from 'node:v8';

/**
 * A small young generation for the CLI's main thread. Chunk data lives outside the V8 heap, so a large
 * nursery buys no speed here, only memory that grows with the input. Imported first by bin/fanout.ts,
 * before the heap has grown.
 */
setFlagsFromString('--max-semi-space-size=1');
