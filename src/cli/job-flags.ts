import { type Command, Option } from 'commander';
import { ChunkingMode, Priority, Strategy } from '../core/constants.ts';

/** The options one job may set for itself, as `run` and `submit` both take them. */
export const withJobOptions = (command: Command): Command =>
  command
    .option('-p, --pipeline <spec>', 'pipeline spec, e.g. validate,transform:uppercase,compress:gzip')
    .addOption(
      new Option('--chunking <mode>', 'chunk on line boundaries or fixed bytes').choices(
        Object.values(ChunkingMode),
      ),
    )
    .option('--chunk-size <bytes>', 'most bytes per chunk, 1024 to 1048576')
    .option('--max-attempts <n>', 'tries per chunk, the first included')
    .addOption(new Option('--strategy <name>', 'balancing strategy').choices(Object.values(Strategy)))
    .option('--targets <names>', 'comma-separated targets, e.g. aws,gcp')
    .addOption(
      new Option('--priority <lane>', "the job's lane: higher lanes are served first").choices(
        Object.values(Priority),
      ),
    );
