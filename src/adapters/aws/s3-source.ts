import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { UsageError } from '../../core/errors.ts';

const S3_URI = /^s3:\/\/([^/]+)\/(.+)$/;

/** Streams the object an `s3://bucket/key` URI names; a missing one is a usage error that names it. */
export const openS3Source = async (client: S3Client, uri: string): Promise<AsyncIterable<Uint8Array>> => {
  const match = S3_URI.exec(uri);
  if (match === null) throw new UsageError(`source ${uri} is not an s3://bucket/key URI`);
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    return object.Body as AsyncIterable<Uint8Array>;
  } catch (error) {
    if (error instanceof NoSuchKey || (error as { name?: string }).name === 'NoSuchBucket') {
      throw new UsageError(`source ${uri} does not exist`, { cause: error });
    }
    throw error;
  }
};
