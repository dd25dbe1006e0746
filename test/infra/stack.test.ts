import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_ROUTES } from '../../infra/http-api.ts';
import { PRIORITIES } from '../../src/core/constants.ts';
import { defineResources } from '../../src/deploy/resources.ts';
import { checkEveryTemplate } from './every-template.ts';
import { permissionStatements, type TemplateJson } from './iam-statements.ts';
import {
  expectEnvironmentsBuiltFor,
  importHandler,
  NO_BUNDLING,
  type Synthesized,
  single,
  synthesize,
} from './synth.ts';

const resources = defineResources();

const functionNamed = (template: Template, name: string) =>
  single(template, 'AWS::Lambda::Function', { FunctionName: name });

const queueNamed = (template: Template, name: string) =>
  single(template, 'AWS::SQS::Queue', { QueueName: name });

/** The maximum concurrency of the mapping from each lane's queue of target aws. */
const laneConcurrencies = (template: Template) =>
  Object.fromEntries(
    PRIORITIES.map((lane) => {
      const queue = queueNamed(template, `fanout-aws-${lane}`).logicalId;
      const mapping = single(template, 'AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      }).properties as { ScalingConfig: { MaximumConcurrency: number } };
      return [lane, mapping.ScalingConfig.MaximumConcurrency];
    }),
  );

let aws: Synthesized;

beforeAll(() => {
  aws = synthesize();
}, 120_000);

afterAll(() => aws?.dispose());

describe('the AWS-only stack (no Google project in the context)', () => {
  it('runs each function on Node.js 24 on arm64 with its definition’s memory and timeout', () => {
    // Prepare
    const { ingestSteps } = resources;
    const expected = [
      resources.functions.ingest,
      {
        name: ingestSteps.functionName,
        memoryMb: ingestSteps.memoryMb,
        timeoutSeconds: ingestSteps.timeoutSeconds,
      },
      resources.functions.stats,
      resources.functions.reconcile,
      {
        name: resources.queues[0]?.processorName,
        memoryMb: resources.processor.memoryMb,
        timeoutSeconds: resources.processor.timeoutSeconds,
      },
    ];

    // Act
    const functions = expected.map(({ name }) => functionNamed(aws.template, name ?? '').properties);

    // Assess
    expect(functions.map((fn) => [fn.Runtime, fn.Architectures, fn.MemorySize, fn.Timeout])).toEqual(
      expected.map(({ memoryMb, timeoutSeconds }) => ['nodejs24.x', ['arm64'], memoryMb, timeoutSeconds]),
    );
    aws.template.resourceCountIs('AWS::Lambda::Function', expected.length);
  });

  it('logs each function in JSON to a log group of its own kept for the configured days, with Powertools settings', () => {
    // Prepare
    const names = [
      resources.functions.ingest.name,
      resources.ingestSteps.functionName,
      resources.functions.stats.name,
      resources.functions.reconcile.name,
      'fanout-process-aws',
    ];

    // Act
    const functions = names.map((name) => functionNamed(aws.template, name).properties);

    // Assess
    for (const [index, fn] of functions.entries()) {
      expect(fn.LoggingConfig).toMatchObject({ LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } });
      const logGroup = (fn.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      aws.template.hasResource('AWS::Logs::LogGroup', {
        Properties: { LogGroupName: `/aws/lambda/${names[index]}`, RetentionInDays: 30 },
      });
      expect(aws.template.toJSON().Resources[logGroup].Type).toBe('AWS::Logs::LogGroup');
      expect(fn.Environment).toMatchObject({
        Variables: {
          POWERTOOLS_SERVICE_NAME: expect.any(String),
          POWERTOOLS_METRICS_NAMESPACE: resources.observability.metricsNamespace,
        },
      });
    }
  });

  it('gives each function exactly the environment functionEnvironment builds, and Powertools’ settings', () => {
    // Prepare
    const standIns = {
      [single(aws.template, 'AWS::DynamoDB::Table').logicalId]: 'TABLE',
      [single(aws.template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name }).logicalId]: 'BUCKET',
      ...Object.fromEntries(
        PRIORITIES.map((lane) => [queueNamed(aws.template, `fanout-aws-${lane}`).logicalId, `${lane}_URL`]),
      ),
      [queueNamed(aws.template, 'fanout-aws-dlq').logicalId]: 'DEAD_LETTER_URL',
      [queueNamed(aws.template, resources.ingestSteps.queueName).logicalId]: 'INGEST_STEPS_URL',
    };
    const deployment = {
      tableName: 'TABLE',
      bucketName: 'BUCKET',
      queues: { aws: { high: 'high_URL', medium: 'medium_URL', low: 'low_URL' } },
      jobTtlSeconds: resources.jobTtlSeconds,
      jobEventsBus: resources.jobEventsBus,
      ingestSteps: 'INGEST_STEPS_URL',
    };

    // Act and Assess
    expectEnvironmentsBuiltFor(aws.template, resources, deployment, standIns);
  });

  it('feeds the processor from each lane queue in batches from the definitions, reporting item failures, at 12/6/2 concurrency', () => {
    // Prepare
    const processor = functionNamed(aws.template, 'fanout-process-aws').logicalId;

    // Act
    const mappings = Object.values(
      aws.template.findResources('AWS::Lambda::EventSourceMapping', {
        Properties: { FunctionName: { Ref: processor } },
      }),
    ).map(({ Properties }) => Properties);

    // Assess
    expect(mappings).toHaveLength(3);
    expect(laneConcurrencies(aws.template)).toEqual({ high: 12, medium: 6, low: 2 });
    for (const mapping of mappings) {
      expect(mapping).toMatchObject({
        BatchSize: resources.processor.batchSize,
        MaximumBatchingWindowInSeconds: resources.processor.maxBatchingWindowSeconds,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    }
  });

  it('feeds the ingest step one step at a time from its queue, which keeps a step hidden six timeouts, then redrives it', () => {
    // Prepare
    const { ingestSteps } = resources;
    const queue = queueNamed(aws.template, ingestSteps.queueName);
    const deadLetters = queueNamed(aws.template, ingestSteps.deadLetterName).logicalId;
    const step = functionNamed(aws.template, ingestSteps.functionName);

    // Act
    const mapping = single(aws.template, 'AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue.logicalId, 'Arn'] },
    }).properties;

    // Assess
    expect(mapping).toMatchObject({
      FunctionName: { Ref: step.logicalId },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: ingestSteps.maxConcurrency },
    });
    expect(queue.properties.VisibilityTimeout).toBe(6 * (step.properties.Timeout as number));
    expect(queue.properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] },
      maxReceiveCount: ingestSteps.maxReceiveCount,
    });
  });

  it('lets the ingest step delete objects under inputs/ alone, and no other role delete any', () => {
    // Prepare
    const policies = Object.values(aws.template.findResources('AWS::IAM::Policy'));
    const stepRole = (
      functionNamed(aws.template, resources.ingestSteps.functionName).properties.Role as {
        'Fn::GetAtt': [string, string];
      }
    )['Fn::GetAtt'][0];

    // Act
    const deleters = policies.flatMap(({ Properties }) =>
      (Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
        .filter((statement) => [statement.Action].flat().includes('s3:DeleteObject'))
        .map((statement) => ({ roles: Properties.Roles, resource: JSON.stringify(statement.Resource) })),
    );

    // Assess
    expect(deleters).toHaveLength(1);
    expect(deleters[0]?.roles).toEqual([{ Ref: stepRole }]);
    expect(deleters[0]?.resource).toMatch(/\/inputs\/\*"/);
  });

  it("keeps a delivery in each lane's queue invisible for at least six processor timeouts, then redrives it to the target's dead-letter queue", () => {
    // Prepare
    const processor = functionNamed(aws.template, 'fanout-process-aws').properties;
    const deadLetters = queueNamed(aws.template, 'fanout-aws-dlq').logicalId;

    // Act
    const lanes = PRIORITIES.map((lane) => queueNamed(aws.template, `fanout-aws-${lane}`).properties);

    // Assess
    for (const queue of lanes) {
      expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (processor.Timeout as number));
      expect(queue.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] },
        maxReceiveCount: resources.queues[0]?.maxReceiveCount,
      });
    }
  });

  it('encrypts every queue and denies it any request not over TLS', () => {
    // Prepare
    const queues = Object.entries(aws.template.findResources('AWS::SQS::Queue'));

    // Act
    const policies = Object.values(aws.template.findResources('AWS::SQS::QueuePolicy'));

    // Assess
    // The target's three lane queues, the ingest steps' queue, their dead-letter queues, and the stream's failures.
    expect(queues).toHaveLength(7);
    for (const [logicalId, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
      const policy = policies.find(
        (p) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: logicalId }]),
      );
      expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('keeps the task table on demand, with point-in-time recovery, TTL on expiresAt and a stream of both images', () => {
    // Act
    const table = single(aws.template, 'AWS::DynamoDB::Table', { TableName: resources.table.name });

    // Assess
    expect(table.properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    });
    aws.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it('maps the stream to the stats function, bisecting a failing batch, retrying it a bounded number of times, then sending it to a queue', () => {
    // Prepare
    const table = single(aws.template, 'AWS::DynamoDB::Table').logicalId;
    const stats = functionNamed(aws.template, resources.functions.stats.name).logicalId;
    const failures = queueNamed(aws.template, resources.streamFailures.queueName).logicalId;

    // Act
    const mapping = single(aws.template, 'AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [table, 'StreamArn'] },
    }).properties;

    // Assess
    expect(mapping).toMatchObject({
      FunctionName: { Ref: stats },
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: resources.stats.retryAttempts,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failures, 'Arn'] } } },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: resources.stats.batchSize,
      MaximumBatchingWindowInSeconds: resources.stats.maxBatchingWindowSeconds,
    });
  });

  it('blocks public access to the data bucket, encrypts it, expires its objects and logs access to another bucket', () => {
    // Prepare
    const accessLogs = single(aws.template, 'AWS::S3::Bucket', {
      BucketName: resources.bucket.accessLogsName,
    });

    // Act
    const bucket = single(aws.template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name });

    // Assess
    expect(bucket.properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: {
        Rules: [
          expect.objectContaining({ Id: 'expire-inputs', Prefix: 'inputs/', ExpirationInDays: 7 }),
          expect.objectContaining({ Id: 'expire-results', Prefix: 'results/', ExpirationInDays: 7 }),
          expect.objectContaining({
            Id: 'expire-uploads',
            Prefix: 'uploads/',
            ExpirationInDays: resources.bucket.expireAfterDays,
          }),
        ],
      },
      LoggingConfiguration: { DestinationBucketName: { Ref: accessLogs.logicalId } },
    });
    expect(accessLogs.properties.PublicAccessBlockConfiguration).toEqual(
      bucket.properties.PublicAccessBlockConfiguration,
    );
  });

  it('denies every request to either bucket that is not over TLS 1.2 or later', () => {
    // Prepare
    const buckets = Object.keys(aws.template.findResources('AWS::S3::Bucket'));

    // Act
    const policies = buckets.map((logicalId) =>
      single(aws.template, 'AWS::S3::BucketPolicy', { Bucket: { Ref: logicalId } }),
    );

    // Assess
    for (const policy of policies) {
      const statements = (policy.properties.PolicyDocument as { Statement: unknown[] }).Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      );
    }
  });

  it('serves every route of the API from ingest, behind IAM', () => {
    // Prepare
    const ingest = single(aws.template, 'AWS::ApiGatewayV2::Integration', {
      IntegrationUri: {
        'Fn::GetAtt': [functionNamed(aws.template, resources.functions.ingest.name).logicalId, 'Arn'],
      },
      PayloadFormatVersion: '2.0',
    }).logicalId;

    // Act
    const routes = Object.values(aws.template.findResources('AWS::ApiGatewayV2::Route')).map(
      ({ Properties }) => Properties,
    );

    // Assess
    expect(
      routes
        .map((route) => [route.RouteKey, route.AuthorizationType, route.Target['Fn::Join'][1][1].Ref])
        .sort(),
    ).toEqual(
      [
        'GET /health',
        'GET /health/live',
        'GET /health/ready',
        'DELETE /jobs/{id}',
        'GET /jobs',
        'GET /jobs/{id}',
        'GET /jobs/{id}/result',
        'GET /jobs/{id}/rejects',
        'GET /jobs/{id}/tasks',
        'GET /jobs/{id}/timeline',
        'GET /metrics',
        'GET /stats',
        'GET /targets',
        'POST /jobs',
        'POST /jobs/{id}/retry',
      ]
        .sort()
        .map((key) => [key, 'AWS_IAM', ingest]),
    );
    aws.template.resourceCountIs('AWS::ApiGatewayV2::Integration', 1);
  });

  it('lets the stats function alone put events, on the default bus only', () => {
    // Prepare
    const statsRole = (
      functionNamed(aws.template, resources.functions.stats.name).properties.Role as {
        'Fn::GetAtt': [string, string];
      }
    )['Fn::GetAtt'][0];

    // Act
    const putters = Object.values(aws.template.findResources('AWS::IAM::Policy')).flatMap(({ Properties }) =>
      [Properties.PolicyDocument.Statement]
        .flat()
        .filter((statement: { Action: string | string[] }) =>
          [statement.Action].flat().some((action) => action.startsWith('events:')),
        )
        .map((statement: { Action: unknown; Resource: unknown }) => ({
          roles: Properties.Roles.map((role: { Ref: string }) => role.Ref),
          action: statement.Action,
          resource: JSON.stringify(statement.Resource),
        })),
    );

    // Assess
    expect(putters).toHaveLength(1);
    expect(putters[0]?.roles).toEqual([statsRole]);
    expect(putters[0]?.action).toBe('events:PutEvents');
    expect(putters[0]?.resource).toMatch(/:event-bus\/default"/);
  });

  it("lets the stats function get and put objects under results/ alone: a calculation's partials and its combined result", () => {
    // Prepare
    const statsRole = (
      functionNamed(aws.template, resources.functions.stats.name).properties.Role as {
        'Fn::GetAtt': [string, string];
      }
    )['Fn::GetAtt'][0];

    // Act
    const objectStatements = Object.values(
      aws.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: statsRole }] } }),
    )
      .flatMap(({ Properties }) => [Properties.PolicyDocument.Statement].flat())
      .filter((statement: { Action: string | string[] }) =>
        [statement.Action].flat().some((action) => action.startsWith('s3:')),
      )
      .map((statement: { Action: string | string[]; Resource: unknown }) => ({
        actions: [statement.Action].flat(),
        resource: JSON.stringify(statement.Resource),
      }));

    // Assess
    expect(objectStatements.flatMap((statement) => statement.actions).sort()).toEqual([
      's3:GetObject',
      's3:PutObject',
    ]);
    for (const statement of objectStatements) expect(statement.resource).toMatch(/"\/results\/\*"/);
  });

  it('lets ingest probe the bucket for readiness (HeadBucket needs s3:ListBucket) and no other role', () => {
    // Prepare
    const bucket = single(aws.template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name }).logicalId;
    const ingestRole = (
      functionNamed(aws.template, resources.functions.ingest.name).properties.Role as {
        'Fn::GetAtt': [string, string];
      }
    )['Fn::GetAtt'][0];

    // Act
    const listers = Object.values(aws.template.findResources('AWS::IAM::Policy'))
      .filter(({ Properties }) =>
        [Properties.PolicyDocument.Statement]
          .flat()
          .some(
            (statement: { Action: string | string[]; Resource: unknown }) =>
              [statement.Action].flat().includes('s3:ListBucket') &&
              JSON.stringify(statement.Resource) === JSON.stringify({ 'Fn::GetAtt': [bucket, 'Arn'] }),
          ),
      )
      .flatMap(({ Properties }) => Properties.Roles.map((role: { Ref: string }) => role.Ref));

    // Assess
    expect(listers).toEqual([ingestRole]);
  });

  it('throttles the API stage and writes its access logs to a log group kept for the configured days', () => {
    // Act
    const stage = single(aws.template, 'AWS::ApiGatewayV2::Stage', { StageName: '$default' }).properties;

    // Assess
    expect(stage.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: resources.api.throttleRateLimit,
      ThrottlingBurstLimit: resources.api.throttleBurstLimit,
    });
    const destination = (stage.AccessLogSettings as { DestinationArn: { 'Fn::GetAtt': [string, string] } })
      .DestinationArn['Fn::GetAtt'][0];
    expect(aws.template.toJSON().Resources[destination].Properties.RetentionInDays).toBe(30);
    expect(JSON.parse((stage.AccessLogSettings as { Format: string }).Format)).toHaveProperty(
      'requestId',
      '$context.requestId',
    );
  });

  it('alarms on dead letters, function error rates (metric math), the oldest message’s age and throttles', () => {
    // Prepare
    const alarms = Object.values(aws.template.findResources('AWS::CloudWatch::Alarm')).map(
      ({ Properties }) => Properties,
    );
    const { alarms: thresholds } = resources.observability;

    // Act
    const byMetric = (name: string) => alarms.filter((alarm) => alarm.MetricName === name);
    const errorRates = alarms.filter((alarm) => alarm.Metrics?.[0]?.Expression?.startsWith('IF('));

    // Assess
    expect(
      byMetric('ApproximateNumberOfMessagesVisible')
        .map((a) => [a.Dimensions[0].Value['Fn::GetAtt'][0], a.Threshold])
        .sort(),
    ).toEqual(
      [
        [queueNamed(aws.template, 'fanout-aws-dlq').logicalId, thresholds.deadLetterMessages],
        [
          queueNamed(aws.template, resources.ingestSteps.deadLetterName).logicalId,
          thresholds.deadLetterMessages,
        ],
        [
          queueNamed(aws.template, resources.streamFailures.queueName).logicalId,
          thresholds.deadLetterMessages,
        ],
      ].sort(),
    );
    // Each lane's queue, and the queue of ingest steps.
    expect(
      byMetric('ApproximateAgeOfOldestMessage')
        .map((a) => [a.Dimensions[0].Value['Fn::GetAtt'][0], a.Threshold])
        .sort(),
    ).toEqual(
      [...PRIORITIES.map((lane) => `fanout-aws-${lane}`), resources.ingestSteps.queueName]
        .map((name) => [queueNamed(aws.template, name).logicalId, thresholds.oldestMessageAgeSeconds])
        .sort(),
    );
    // One per function: ingest, the ingest step, the processor, stats and reconcile.
    expect(byMetric('Throttles')).toHaveLength(5);
    expect(errorRates).toHaveLength(5);
    for (const alarm of errorRates) {
      expect(alarm.Threshold).toBe(thresholds.errorRatePercent);
      expect(
        alarm.Metrics.map(
          (m: { MetricStat?: { Metric: { MetricName: string } } }) => m.MetricStat?.Metric.MetricName,
        ),
      ).toEqual([undefined, 'Errors', 'Invocations']);
    }
    for (const alarm of alarms) expect(alarm.TreatMissingData).toBe('notBreaching');
  });

  it.each([
    resources.functions.ingest.name,
    resources.ingestSteps.functionName,
    'fanout-process-aws',
    resources.functions.stats.name,
    resources.functions.reconcile.name,
  ])('bundles %s as an ES module that loads on Node.js', async (name) => {
    // Act
    const handler = await importHandler(aws, name);

    // Assess
    expect(handler).toBe('function');
  });

  it('runs the reconcile function every minute with EventBridge Scheduler, once per run, through a role that may only invoke it', () => {
    // Prepare
    const reconcile = functionNamed(aws.template, resources.functions.reconcile.name).logicalId;

    // Act
    const schedule = single(aws.template, 'AWS::Scheduler::Schedule').properties;

    // Assess
    expect(schedule).toMatchObject({
      Name: resources.reconcileSchedule.name,
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [reconcile, 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      },
    });
    const role = (schedule.Target as { RoleArn: { 'Fn::GetAtt': [string, string] } }).RoleArn[
      'Fn::GetAtt'
    ][0];
    const policies = aws.template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: [{ Ref: role }] },
    });
    const statements = Object.values(policies).flatMap(
      (policy) =>
        (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
          .Statement,
    );
    expect(statements).toEqual([
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Effect: 'Allow' }),
    ]);
  });

  it('lets the reconcile function read and write the table and send to the queues, and nothing of the bucket', () => {
    // Prepare
    const role = single(aws.template, 'AWS::IAM::Role', {
      RoleName: resources.functions.reconcile.name,
    }).logicalId;

    // Act
    const actions = Object.values(
      aws.template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: role }] } }),
    )
      .flatMap(
        (policy) =>
          (policy as { Properties: { PolicyDocument: { Statement: { Action: string | string[] }[] } } })
            .Properties.PolicyDocument.Statement,
      )
      .flatMap((statement) => statement.Action);

    // Assess
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'sqs:SendMessage']),
    );
    expect(actions.some((action) => action.startsWith('s3:'))).toBe(false);
  });

  it('has a dashboard named after the prefix', () => {
    // Act
    const dashboard = single(aws.template, 'AWS::CloudWatch::Dashboard').properties;

    // Assess
    expect(dashboard.DashboardName).toBe(resources.observability.dashboardName);
  });

  checkEveryTemplate(() => aws);
});

describe('the stack with priorityShares and maxConcurrentTasks in the context', () => {
  let split: Synthesized;

  beforeAll(() => {
    split = synthesize({
      ...NO_BUNDLING,
      maxConcurrentTasks: '10',
      priorityShares: 'high=50,medium=25,low=25',
    });
  }, 60_000);

  afterAll(() => split?.dispose());

  it("splits the processor's concurrency between its lanes' mappings by the shares", () => {
    // Act
    const concurrencies = laneConcurrencies(split.template);

    // Assess
    expect(concurrencies).toEqual({ high: 5, medium: 3, low: 2 });
  });
});

describe('the stack with a JWT authorizer', () => {
  let jwt: Synthesized;

  beforeAll(() => {
    jwt = synthesize({
      ...NO_BUNDLING,
      authorization: 'jwt',
      jwtIssuer: 'https://issuer.example.com/',
      jwtAudience: 'fanout-api,fanout-cli',
    });
  }, 60_000);

  afterAll(() => jwt?.dispose());

  it('authorizes every route with a JWT authorizer for the configured issuer and audiences', () => {
    // Act
    const authorizer = single(jwt.template, 'AWS::ApiGatewayV2::Authorizer', { AuthorizerType: 'JWT' });

    // Assess
    expect(authorizer.properties.JwtConfiguration).toEqual({
      Issuer: 'https://issuer.example.com/',
      Audience: ['fanout-api', 'fanout-cli'],
    });
    const routes = Object.values(jwt.template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(HTTP_ROUTES.length);
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: authorizer.logicalId },
      });
    }
  });

  checkEveryTemplate(() => jwt);
});

const WEBHOOK_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:fanout-webhook-AbC123';

describe('the stack with jobTtlSeconds and webhookSecretArn in the context', () => {
  let synthesized: Synthesized;

  beforeAll(() => {
    // Eight days and a second: nine days of S3 lifecycle, rounded up.
    synthesized = synthesize({
      ...NO_BUNDLING,
      jobTtlSeconds: '691201',
      webhookSecretArn: WEBHOOK_SECRET_ARN,
    });
  }, 120_000);

  afterAll(() => synthesized?.dispose());

  it("gives every function that writes the table the TTL, and the bucket's job data the days rounded up", () => {
    // Prepare
    const { template } = synthesized;

    // Act
    const ttls = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => (fn.Properties.Environment?.Variables as Record<string, unknown> | undefined)?.JOB_TTL_SECONDS,
    );
    const bucket = single(template, 'AWS::S3::Bucket', { BucketName: resources.bucket.name });

    // Assess
    expect(ttls.filter((ttl) => ttl !== undefined).length).toBeGreaterThan(0);
    expect(new Set(ttls.filter((ttl) => ttl !== undefined))).toEqual(new Set(['691201']));
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    expect((bucket.properties.LifecycleConfiguration as { Rules: unknown[] }).Rules).toEqual([
      expect.objectContaining({ Prefix: 'inputs/', ExpirationInDays: 9 }),
      expect.objectContaining({ Prefix: 'results/', ExpirationInDays: 9 }),
      expect.objectContaining({ Prefix: 'uploads/', ExpirationInDays: resources.bucket.expireAfterDays }),
    ]);
  });

  it('lets ingest and stats, and no other role, read the webhook secret, which they are told of by ARN', () => {
    // Prepare
    const { template } = synthesized;
    const readers = new Set(
      permissionStatements(template.toJSON() as TemplateJson)
        .filter(({ statement }) => JSON.stringify(statement.Resource ?? '').includes(WEBHOOK_SECRET_ARN))
        .map(({ where }) => where),
    );

    // Act
    const told = Object.values(template.findResources('AWS::Lambda::Function'))
      .filter(
        (fn) =>
          (fn.Properties.Environment?.Variables as Record<string, unknown> | undefined)
            ?.NOTIFY_WEBHOOK_SECRET_ID === WEBHOOK_SECRET_ARN,
      )
      .map((fn) => fn.Properties.FunctionName);

    // Assess
    expect(told.sort()).toEqual([resources.functions.ingest.name, resources.functions.stats.name].sort());
    expect([...readers].sort()).toEqual([...readers].filter((where) => /Ingest|Stats/.test(where)).sort());
    expect(readers.size).toBe(2);
  });
});
