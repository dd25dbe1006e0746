import { join } from 'node:path';
import { type FunctionDeployment, functionEnvironment } from '../config/function-env.ts';
import { topicPath } from '../config/queue-address.ts';
import { byLane } from '../core/lanes.ts';
import { laneFunctionSteps } from './deploy-gcp-functions.ts';
import type { DeployGcpInputs } from './deploy-gcp-inputs.ts';

/** gcloud's arguments, without `gcloud` itself. `${NAME}` in an argument is a value captured earlier. */
export type GcloudArgs = readonly string[];

/** One step of the deploy. Every one is safe to run again. */
export type DeployStep =
  /** A gcloud command that is idempotent by itself (enabling APIs, adding a binding, `functions deploy`). */
  | { kind: 'gcloud'; title: string; args: GcloudArgs }
  /**
   * Describes a resource, then updates it when it exists or creates it when it does not. When the
   * resource is soft-deleted (its describe prints DELETED) it is undeleted first.
   */
  | {
      kind: 'ensure';
      title: string;
      describe: GcloudArgs;
      create: GcloudArgs;
      update: GcloudArgs;
      undelete?: GcloudArgs;
    }
  /** Runs a gcloud command and keeps what it prints (trimmed) as `${variable}`. */
  | { kind: 'capture'; title: string; variable: string; args: GcloudArgs }
  /** Creates or updates the topics and subscriptions with `provisionGcp`. */
  | { kind: 'pubsub'; title: string }
  /** Bundles the Google function's source into `outDir`. */
  | { kind: 'bundle'; title: string; outDir: string }
  /** Writes a function's environment as a YAML file for `--env-vars-file`. */
  | { kind: 'env-file'; title: string; path: string; values: Record<string, string> };

export const PROJECT_NUMBER = 'PROJECT_NUMBER';
export const PROCESSOR_UNIQUE_ID = 'PROCESSOR_UNIQUE_ID';

const APIS = [
  'pubsub.googleapis.com',
  'cloudfunctions.googleapis.com',
  'run.googleapis.com',
  'cloudbuild.googleapis.com',
  'artifactregistry.googleapis.com',
  'iam.googleapis.com',
  'iamcredentials.googleapis.com',
  'sts.googleapis.com',
];

/**
 * The default attribute mapping of an AWS provider, given explicitly: `attribute.aws_role` is the
 * caller's `arn:aws:sts::ACCOUNT:assumed-role/ROLE`, whatever the session.
 */
const AWS_ATTRIBUTE_MAPPING = [
  'google.subject=assertion.arn',
  "attribute.aws_role=assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
].join(',');

const ensureServiceAccount = (project: string, id: string, description: string): DeployStep => {
  const email = `${id}@${project}.iam.gserviceaccount.com`;
  const details = [`--display-name=${id}`, `--description=${description}`];
  return {
    kind: 'ensure',
    title: `service account ${email}`,
    describe: ['iam', 'service-accounts', 'describe', email, `--project=${project}`, '--format=value(email)'],
    create: ['iam', 'service-accounts', 'create', id, `--project=${project}`, ...details],
    update: ['iam', 'service-accounts', 'update', email, `--project=${project}`, ...details],
  };
};

/** Grants a role on a topic, a subscription, a service account or a function. Adding a binding twice changes nothing. */
const binding = (title: string, resource: GcloudArgs, member: string, role: string): DeployStep => ({
  kind: 'gcloud',
  title,
  args: [...resource, `--member=${member}`, `--role=${role}`],
});

/**
 * Every step of the Google side's deploy, in order: the APIs, the service accounts, the Pub/Sub topics
 * and subscriptions with their IAM bindings, the workload identity pool and AWS provider that admit the
 * AWS functions, the functions themselves (one per lane of each target, each with its lane's share of
 * the instances), and the push of each lane's subscription to its function. `workDir` is where the
 * function's bundle and environment files go.
 */
export const planGcpDeploy = (inputs: DeployGcpInputs, workDir: string): DeployStep[] => {
  const { project, gcp, resources } = inputs;
  const at = `--project=${project}`;
  const email = (id: string) => `${id}@${project}.iam.gserviceaccount.com`;
  const sa = gcp.serviceAccounts;
  const pubsubAgent = `serviceAccount:service-\${${PROJECT_NUMBER}}@gcp-sa-pubsub.iam.gserviceaccount.com`;
  const { pool, provider } = gcp.workloadIdentity;
  const wif = ['--location=global', at];
  const roleArn = (role: string) => `arn:aws:sts::${inputs.awsAccountId}:assumed-role/${role}`;
  const publishers = resources.federation.publisherRoleNames.map(roleArn);
  const source = join(workDir, 'function');
  const deployment: FunctionDeployment = {
    tableName: resources.table.name,
    bucketName: resources.bucket.name,
    queues: Object.fromEntries([
      ...resources.queues.map((queue) => [
        queue.target,
        byLane(
          (lane) =>
            `https://sqs.${inputs.awsRegion}.amazonaws.com/${inputs.awsAccountId}/${queue.lanes[lane].name}`,
        ),
      ]),
      ...gcp.targets.map((target) => [
        target.target,
        byLane((lane) => topicPath(project, target.lanes[lane].topic)),
      ]),
    ]),
    jobTtlSeconds: resources.jobTtlSeconds,
    googleProject: project,
    awsRole: {
      region: inputs.awsRegion,
      arn: `arn:aws:iam::${inputs.awsAccountId}:role/${inputs.awsRoleName}`,
      audience: resources.federation.audience,
    },
  };

  const publisher = `serviceAccount:${email(sa.publisher)}`;
  const jobEvents = ['pubsub', 'topics', 'add-iam-policy-binding', gcp.jobEventsTopic, at];
  const steps: DeployStep[] = [
    { kind: 'gcloud', title: 'the APIs the deploy uses', args: ['services', 'enable', ...APIS, at] },
    {
      kind: 'capture',
      title: 'the project number',
      variable: PROJECT_NUMBER,
      args: ['projects', 'describe', project, '--format=value(projectNumber)'],
    },
    ensureServiceAccount(project, sa.processor, 'Runs the Fanout functions'),
    ensureServiceAccount(project, sa.publisher, 'The AWS functions publish to Pub/Sub as it'),
    ensureServiceAccount(project, sa.pushInvoker, 'Pub/Sub pushes to the Fanout functions as it'),
    {
      kind: 'pubsub',
      title:
        'topics (message retention from jobs.ttl_seconds) and subscriptions (dead-letter topic, retry policy, ack deadline)',
    },
    binding(`${gcp.jobEventsTopic}: AWS publishes job ends`, jobEvents, publisher, 'roles/pubsub.publisher'),
  ];
  for (const target of gcp.targets) {
    const deadLetters = ['pubsub', 'topics', 'add-iam-policy-binding', target.deadLetterTopic, at];
    for (const lane of Object.values(target.lanes)) {
      const topic = ['pubsub', 'topics', 'add-iam-policy-binding', lane.topic, at];
      const subscription = ['pubsub', 'subscriptions', 'add-iam-policy-binding', lane.subscription, at];
      steps.push(
        binding(`${lane.topic}: the AWS functions publish`, topic, publisher, 'roles/pubsub.publisher'),
        binding(
          `${lane.topic}: the functions publish retries`,
          topic,
          `serviceAccount:${email(sa.processor)}`,
          'roles/pubsub.publisher',
        ),
        binding(
          `${lane.subscription}: Pub/Sub acknowledges forwarded dead letters`,
          subscription,
          pubsubAgent,
          'roles/pubsub.subscriber',
        ),
      );
    }
    steps.push(
      binding(
        `${target.deadLetterTopic}: the functions publish dead letters`,
        deadLetters,
        `serviceAccount:${email(sa.processor)}`,
        'roles/pubsub.publisher',
      ),
      // What a dead-letter policy needs of the Pub/Sub service agent.
      binding(
        `${target.deadLetterTopic}: Pub/Sub forwards dead letters`,
        deadLetters,
        pubsubAgent,
        'roles/pubsub.publisher',
      ),
    );
  }
  const providerDetails = [
    `--workload-identity-pool=${pool}`,
    `--account-id=${inputs.awsAccountId}`,
    `--attribute-mapping=${AWS_ATTRIBUTE_MAPPING}`,
    `--attribute-condition=attribute.aws_role in [${publishers.map((arn) => `'${arn}'`).join(', ')}]`,
    `--display-name=AWS account ${inputs.awsAccountId}`,
  ];
  steps.push(
    {
      kind: 'ensure',
      title: `workload identity pool ${pool}`,
      describe: ['iam', 'workload-identity-pools', 'describe', pool, ...wif, '--format=value(state)'],
      create: [
        'iam',
        'workload-identity-pools',
        'create',
        pool,
        ...wif,
        '--display-name=Fanout AWS functions',
      ],
      update: [
        'iam',
        'workload-identity-pools',
        'update',
        pool,
        ...wif,
        '--display-name=Fanout AWS functions',
      ],
      undelete: ['iam', 'workload-identity-pools', 'undelete', pool, ...wif],
    },
    {
      kind: 'ensure',
      title: `AWS provider ${provider} (trusts account ${inputs.awsAccountId}, admits ${resources.federation.publisherRoleNames.join(', ')})`,
      describe: [
        'iam',
        'workload-identity-pools',
        'providers',
        'describe',
        provider,
        `--workload-identity-pool=${pool}`,
        ...wif,
        '--format=value(state)',
      ],
      create: [
        'iam',
        'workload-identity-pools',
        'providers',
        'create-aws',
        provider,
        ...wif,
        ...providerDetails,
      ],
      update: [
        'iam',
        'workload-identity-pools',
        'providers',
        'update-aws',
        provider,
        ...wif,
        ...providerDetails,
      ],
      undelete: [
        'iam',
        'workload-identity-pools',
        'providers',
        'undelete',
        provider,
        `--workload-identity-pool=${pool}`,
        ...wif,
      ],
    },
    ...publishers.map((arn) =>
      binding(
        `${email(sa.publisher)}: ${arn} may act as it`,
        ['iam', 'service-accounts', 'add-iam-policy-binding', email(sa.publisher), at],
        `principalSet://iam.googleapis.com/projects/\${${PROJECT_NUMBER}}/locations/global/workloadIdentityPools/${pool}/attribute.aws_role/${arn}`,
        'roles/iam.workloadIdentityUser',
      ),
    ),
    // Projects made before April 2021 need it for the OIDC tokens of authenticated pushes.
    binding(
      `${email(sa.pushInvoker)}: Pub/Sub signs pushes as it`,
      ['iam', 'service-accounts', 'add-iam-policy-binding', email(sa.pushInvoker), at],
      pubsubAgent,
      'roles/iam.serviceAccountTokenCreator',
    ),
    { kind: 'bundle', title: 'the function source (functions/process-gcp)', outDir: source },
  );
  for (const target of gcp.targets) {
    // The lanes' functions differ only in their instances: one environment serves them all.
    const envFile = join(workDir, `${gcp.prefix}-process-${target.target}.env.yaml`);
    steps.push({
      kind: 'env-file',
      title: `the environment of the functions of ${target.target}`,
      path: envFile,
      values: functionEnvironment(deployment, {
        name: 'processor',
        target: target.target,
        deadLetter: topicPath(project, target.deadLetterTopic),
        leaseMs: gcp.processor.leaseMs,
      }),
    });
    for (const lane of Object.values(target.lanes)) {
      steps.push(
        ...laneFunctionSteps(inputs, lane, {
          target: target.target,
          source,
          envFile,
          runAs: email(sa.processor),
          pushAs: email(sa.pushInvoker),
        }),
      );
    }
  }
  steps.push({
    kind: 'capture',
    title: 'the unique id of the functions’ service account, which the AWS role trusts',
    variable: PROCESSOR_UNIQUE_ID,
    args: ['iam', 'service-accounts', 'describe', email(sa.processor), at, '--format=value(uniqueId)'],
  });
  return steps;
};
