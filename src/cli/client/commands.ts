import { type Command, Option } from 'commander';
import { JOB_OPTIONS } from '../../config/job.ts';
import { loadConfig } from '../../config/load.ts';
import { UsageError } from '../../core/errors.ts';
import type { JobView } from '../../core/job.ts';
import { withJobOptions } from '../job-flags.ts';
import { progressBar } from '../progress.ts';
import { EndpointClient } from './endpoint-client.ts';
import { formatJob, formatJobs, jobLine, openBody, writeResult } from './output.ts';
import { watchJob } from './watch.ts';

type Options = Record<string, unknown>;

const NO_ENDPOINT =
  'no endpoint to call: give --endpoint URL, set FANOUT_ENDPOINT, or set client.endpoint in the configuration file (./fanout.config.yaml, or the one --config or FANOUT_CONFIG names)';

/** The endpoint and how to sign for it: --endpoint and --sign, over FANOUT_* variables, over the file. */
export const clientFrom = async (options: Options): Promise<EndpointClient> => {
  const flags = [
    ...(options.endpoint === undefined
      ? []
      : [{ path: ['client', 'endpoint'], value: options.endpoint, flag: '--endpoint' }]),
    ...(options.sign === undefined
      ? []
      : [{ path: ['client', 'auth'], value: options.sign, flag: '--sign' }]),
  ];
  const { endpoint, auth } = loadConfig({ file: options.config as string | undefined, flags }).client;
  if (endpoint === '') throw new UsageError(NO_ENDPOINT);
  if (auth === 'none') return new EndpointClient(endpoint);
  // Loaded here: only signed calls need the AWS credential chain.
  const { sigV4Signer, signingRegion } = await import('./sigv4.ts');
  const region = signingRegion(options.region as string | undefined, new URL(endpoint));
  return new EndpointClient(endpoint, sigV4Signer(region));
};

const print = (options: Options, value: unknown, text: string): void => {
  process.stdout.write(`${options.json ? JSON.stringify(value) : text}\n`);
};

/**
 * Watches the job to its end, with the progress bar on a terminal or a line per status otherwise, prints
 * it, and writes its result to `--out` when it completed. 0 when it completed, 1 otherwise.
 */
const follow = async (client: EndpointClient, jobId: string, options: Options): Promise<number> => {
  const bar = progressBar(undefined);
  let status: string | undefined;
  let final: JobView;
  try {
    final = await watchJob(client, jobId, {
      onView: (view) => {
        bar.update(view);
        if (!process.stderr.isTTY && view.status !== status)
          process.stderr.write(`fanout: ${jobLine(view)}\n`);
        status = view.status;
      },
      onFeed: (feed) => {
        if (!process.stderr.isTTY) process.stderr.write(`fanout: following job ${jobId} by ${feed}\n`);
      },
    });
  } finally {
    bar.stop();
  }
  // A result on standard output keeps it to itself: the summary goes to stderr.
  const summary = options.json ? JSON.stringify(final) : formatJob(final);
  (options.out === '-' ? process.stderr : process.stdout).write(`${summary}\n`);
  if (final.status !== 'completed') return 1;
  if (options.out !== undefined) {
    await writeResult(await client.result(jobId), options.out as string);
    if (options.out !== '-') process.stderr.write(`fanout: wrote ${options.out}\n`);
  }
  return 0;
};

const submit = async (input: string, options: Options): Promise<number> => {
  const client = await clientFrom(options);
  const query = Object.fromEntries(
    // Only the flags given: the endpoint's own settings fill in the rest.
    JOB_OPTIONS.flatMap((name) => (options[name] === undefined ? [] : [[name, String(options[name])]])),
  );
  const body = await openBody(input, options.contentType as string | undefined);
  const submitted = await client.submit(body, query, options.idempotencyKey as string | undefined);
  if (options.wait) return follow(client, submitted.jobId, options);
  if (options.out !== undefined)
    throw new UsageError('--out needs --wait: the result exists once the job ends');
  print(options, submitted, submitted.jobId);
  process.stderr.write(
    `fanout: job ${submitted.jobId} accepted; follow it with: fanout watch ${submitted.jobId}\n`,
  );
  return 0;
};

const limitOf = (text: string): number => {
  const limit = Number(text);
  if (!/^\d+$/.test(text.trim()) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit must be a whole number from 1 to 1000, got "${text}"`);
  return limit;
};

const jobs = async (options: Options): Promise<number> => {
  const client = await clientFrom(options);
  const page = await client.listJobs({
    status: options.status as string | undefined,
    limit: options.limit === undefined ? undefined : limitOf(options.limit as string),
    cursor: options.cursor as string | undefined,
  });
  print(options, page, page.jobs.length === 0 ? 'no jobs' : formatJobs(page.jobs));
  if (page.nextCursor !== null && !options.json)
    process.stderr.write(`fanout: more jobs: fanout jobs --cursor ${page.nextCursor}\n`);
  return 0;
};

/** The options every command of an endpoint takes. */
const endpointCommand = (cli: Command, name: string, description: string): Command =>
  cli
    .command(name)
    .description(description)
    .option('-e, --endpoint <url>', 'the API to call (default: FANOUT_ENDPOINT, else client.endpoint)')
    .option('-c, --config <file>', 'configuration file (default: ./fanout.config.yaml when present)')
    .addOption(
      new Option('--sign <auth>', 'sign each request: sigv4 for an API with IAM authorization').choices([
        'none',
        'sigv4',
      ]),
    )
    .option('--region <region>', 'with --sign sigv4: the region (default: AWS_REGION, else the host)')
    .option('--json', 'print JSON, as the API answers it');

const set = (code: Promise<number>): Promise<void> =>
  code.then((value) => {
    process.exitCode = value;
  });

/** `submit`, `jobs`, `job`, `watch`, `cancel`, `retry`, `result`, `rejects`: the CLI as a client of any endpoint. */
export const registerClientCommands = (cli: Command): void => {
  withJobOptions(
    endpointCommand(cli, 'submit', 'send a file to an endpoint as a new job').argument(
      '<input>',
      'input file, or - for standard input',
    ),
  )
    .option(
      '--content-type <type>',
      'the media type (default: application/x-ndjson for .ndjson, else text/plain)',
    )
    .option('--idempotency-key <key>', 'send the job at most once, however often this is repeated')
    .option('-w, --wait', 'follow the job to its end; exit 0 only when every chunk completed')
    .option('-o, --out <file>', 'with --wait: write the result to this file (- for standard output)')
    .action((input: string, options: Options) => set(submit(input, options)));
  endpointCommand(cli, 'jobs', 'list the jobs of an endpoint, newest first')
    .option('--status <status>', 'only jobs in this status')
    .option('--limit <n>', 'at most this many jobs, 1 to 1000 (the endpoint defaults to 50)')
    .option('--cursor <cursor>', 'the page after the one that printed this cursor')
    .action((options: Options) => set(jobs(options)));
  endpointCommand(cli, 'job', 'show one job: its status and stats')
    .argument('<id>', 'the job id')
    .action((id: string, options: Options) =>
      set(
        clientFrom(options).then(async (client) => {
          const view = await client.getJob(id);
          print(options, view, formatJob(view));
          return 0;
        }),
      ),
    );
  endpointCommand(cli, 'watch', 'follow a job to its end with a progress bar')
    .argument('<id>', 'the job id')
    .option('-o, --out <file>', 'write the result to this file when the job completes')
    .action((id: string, options: Options) =>
      set(clientFrom(options).then((client) => follow(client, id, options))),
    );
  endpointCommand(cli, 'cancel', 'cancel a job: no new try of it starts')
    .argument('<id>', 'the job id')
    .action((id: string, options: Options) =>
      set(
        clientFrom(options).then(async (client) => {
          const view = await client.cancel(id);
          print(options, view, jobLine(view));
          return 0;
        }),
      ),
    );
  endpointCommand(cli, 'retry', "run a job's failed chunks again")
    .argument('<id>', 'the job id')
    .option('-w, --wait', 'follow the job to its end; exit 0 only when every chunk completed')
    .action((id: string, options: Options) =>
      set(
        clientFrom(options).then(async (client) => {
          const retried = await client.retry(id);
          if (options.wait) return follow(client, id, options);
          print(options, retried, `job ${id}: ${retried.chunksRetried} failed chunks run again`);
          return 0;
        }),
      ),
    );
  for (const [name, description, read] of [
    ['result', "write a completed job's result", (client: EndpointClient, id: string) => client.result(id)],
    [
      'rejects',
      "write the records an ended job's checks rejected, as NDJSON",
      (client: EndpointClient, id: string) => client.rejects(id),
    ],
  ] as const)
    endpointCommand(cli, name, description)
      .argument('<id>', 'the job id')
      .option('-o, --out <file>', 'the file to write (default: - for standard output)', '-')
      .action((id: string, options: Options) =>
        set(
          clientFrom(options).then(async (client) => {
            await writeResult(await read(client, id), options.out as string);
            if (options.out !== '-') process.stderr.write(`fanout: wrote ${options.out}\n`);
            return 0;
          }),
        ),
      );
};
