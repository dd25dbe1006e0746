import type { Role } from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import type { FanoutFunction } from './fanout-function.ts';
import type { Queues } from './queues.ts';

/** The constructs whose cdk-nag findings are acknowledged. */
export interface NagSubjects {
  queues: Queues;
  /** The roles that read or write objects of the data bucket. */
  bucketUsers: Role[];
  /** The function the DynamoDB stream event source invokes. */
  streamReader: FanoutFunction;
  /** The role EventBridge Scheduler invokes the reconcile function with. */
  scheduleInvoker: Role;
}

/** A data-bucket object ARN under one of the prefixes the stores write (`<DataXXXX.Arn>/inputs/*`). */
const DATA_PREFIX_OBJECTS = {
  regex: '/^Resource::<Data[A-Za-z0-9]+\\.Arn>\\/(inputs|results|uploads)\\/\\*$/',
};

const PREFIX_REASON =
  "Object keys are per job and per batch (inputs/{job}/{segment}, results/{job}/{batch}), made at run time, so a role can be scoped only to its prefix's objects: s3:GetObject or s3:PutObject alone, on the prefixes its function reads or writes, never the bucket's other prefixes or any bucket action.";

/**
 * Acknowledges, with the reason each one stands, the cdk-nag AwsSolutions findings the stack keeps on
 * purpose. Each applies to the one construct and the one finding (`appliesTo`) concerned.
 */
export const acknowledgeNagFindings = (subjects: NagSubjects): void => {
  for (const role of subjects.bucketUsers) {
    NagSuppressions.addResourceSuppressions(
      role,
      [{ id: 'AwsSolutions-IAM5', reason: PREFIX_REASON, appliesTo: [DATA_PREFIX_OBJECTS] }],
      true,
    );
  }
  NagSuppressions.addResourceSuppressions(
    subjects.streamReader.role,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "dynamodb:ListStreams, which the DynamoDB stream event source needs, has no resource-level permissions (the Service Authorization Reference lists no resource type for it), so IAM accepts only '*'; the stream reads themselves (DescribeStream, GetRecords, GetShardIterator) are on the table's stream ARN.",
        appliesTo: ['Resource::*'],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(
    subjects.scheduleInvoker,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          "grantInvoke, which the scheduler's LambdaInvoke target applies, allows lambda:InvokeFunction on the reconcile function and on its versions and aliases (the function's ARN followed by :*); no other function.",
        appliesTo: [{ regex: '/^Resource::<Reconcile[A-Za-z0-9]+\\.Arn>:\\*$/' }],
      },
    ],
    true,
  );
  NagSuppressions.addResourceSuppressions(subjects.queues.streamFailures, [
    {
      id: 'AwsSolutions-SQS3',
      reason:
        "It is itself a dead-letter destination: the stats stream mapping's on-failure destination, where the records of batches it gave up on are kept 14 days; an alarm watches its depth.",
    },
  ]);
};
