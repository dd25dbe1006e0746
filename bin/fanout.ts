#!/usr/bin/env node
import { enableCompileCache } from '../src/cli/compile-cache.ts';
import { capMallocArenas } from '../src/cli/malloc-arenas.ts';
import { exitUnlessSupportedNode } from '../src/cli/node-version.ts';

exitUnlessSupportedNode();
enableCompileCache();
capMallocArenas();
// Loaded only now, so that a process about to be replaced has not loaded the CLI for nothing.
await import('../src/cli/heap.ts');
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
