#!/usr/bin/env node
import { enableCompileCache } from '../src/cli/compile-cache.ts';
import { exitUnlessSupportedNode } from '../src/cli/node-version.ts';

exitUnlessSupportedNode();
enableCompileCache();
await import('../src/cli/heap.ts');
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
