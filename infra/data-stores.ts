import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, StreamViewType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type BucketDefinition, dataLifecycle, type Resources } from '../src/deploy/resources.ts';

/** A prefix of the data bucket, as the resource definitions name it. */
type DataPrefix = BucketDefinition['inputsPrefix' | 'resultsPrefix' | 'uploadsPrefix'];

/**
 * What the functions do to the table, and nothing more: the task store's claims and finishes (conditional
 * puts and updates), its reads and task queries, and the stats store's transactions (puts, updates and
 * condition checks). No scans, no deletes: TTL deletes expired items.
 */
export const TABLE_DATA_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:Query',
  'dynamodb:ConditionCheckItem',
] as const;

/**
 * The task table and the data bucket (with the bucket for its access logs). Both hold a deployment's
 * data, so they are kept when the stack is deleted.
 */
export class DataStores extends Construct {
  readonly table: Table;
  readonly bucket: Bucket;
  readonly accessLogs: Bucket;
  readonly #jobsIndex: string;

  constructor(scope: Construct, id: string, resources: Resources) {
    super(scope, id);
    const { table, bucket, observability } = resources;
    this.#jobsIndex = table.jobsIndex.name;
    this.table = new Table(this, 'Tasks', {
      tableName: table.name,
      partitionKey: { name: table.partitionKey, type: AttributeType.STRING },
      sortKey: { name: table.sortKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: table.ttlAttribute,
      stream: StreamViewType[table.streamView],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: table.jobsIndex.name,
      partitionKey: { name: table.jobsIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: table.jobsIndex.sortKey, type: AttributeType.STRING },
    });
    const privateBucket = {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Server access log delivery supports S3-managed keys only; the data bucket uses them too.
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.RETAIN,
    };
    this.accessLogs = new Bucket(this, 'AccessLogs', {
      ...privateBucket,
      bucketName: bucket.accessLogsName,
      lifecycleRules: [{ expiration: Duration.days(observability.logRetentionDays) }],
    });
    this.bucket = new Bucket(this, 'Data', {
      ...privateBucket,
      bucketName: bucket.name,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: `${bucket.name}/`,
      lifecycleRules: dataLifecycle(bucket).map(({ id, prefix, days }) => ({
        id,
        prefix,
        expiration: Duration.days(days),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      })),
    });
  }

  /**
   * The table's data actions ({@link TABLE_DATA_ACTIONS}) on the table alone: `Table.grant` would add
   * every index of it with a wildcard.
   */
  grantTableData(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: [...TABLE_DATA_ACTIONS], resourceArns: [this.table.tableArn] });
  }

  /** `dynamodb:Query` on the jobs index, by its name: what `GET /jobs` reads. */
  grantJobsIndexQuery(grantee: IGrantable): void {
    Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:Query'],
      resourceArns: [`${this.table.tableArn}/index/${this.#jobsIndex}`],
    });
  }

  /**
   * `s3:GetObject` (whole or ranged reads) under the prefixes: the bucket's own grantRead would add
   * listing and `s3:GetObject*`, which the functions never use.
   */
  grantObjectReads(grantee: IGrantable, ...prefixes: DataPrefix[]): void {
    this.#grantObjects(grantee, 's3:GetObject', prefixes);
  }

  /** `s3:ListBucket` on the bucket: what HeadBucket, the readiness probe of the bucket, needs. */
  grantBucketProbe(grantee: IGrantable): void {
    Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
  }

  /** `s3:PutObject` under the prefixes (single-request puts; the stores never upload in parts). */
  grantObjectWrites(grantee: IGrantable, ...prefixes: DataPrefix[]): void {
    this.#grantObjects(grantee, 's3:PutObject', prefixes);
  }

  /** `s3:DeleteObject` under the prefixes: for the ingest step, which deletes a body it has read whole. */
  grantObjectDeletes(grantee: IGrantable, ...prefixes: DataPrefix[]): void {
    this.#grantObjects(grantee, 's3:DeleteObject', prefixes);
  }

  #grantObjects(grantee: IGrantable, action: string, prefixes: DataPrefix[]): void {
    Grant.addToPrincipal({
      grantee,
      actions: [action],
      resourceArns: prefixes.map((prefix) => this.bucket.arnForObjects(`${prefix}*`)),
    });
  }
}
