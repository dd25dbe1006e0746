#!/usr/bin/env node
import { exitUnlessSupportedNode } from '../src/cli/node-version.ts';
import { tuneProcess } from '../src/cli/tuning.ts';

exitUnlessSupportedNode();
tuneProcess();
// Imported only now: the compile cache holds only the modules loaded after it is enabled.
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
