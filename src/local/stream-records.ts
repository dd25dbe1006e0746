import type {
  AttributeValue as SdkAttributeValue,
  _Record as SdkRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';

type Image = Record<string, AttributeValue>;

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** An attribute value as Lambda's JSON event carries it: binary as base64 text. */
const eventValue = (value: SdkAttributeValue): AttributeValue => {
  if (value.B !== undefined) return { B: base64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(base64) };
  if (value.L !== undefined) return { L: value.L.map(eventValue) };
  if (value.M !== undefined) return { M: eventImage(value.M) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  return { NS: value.NS ?? [] };
};

const eventImage = (image: Record<string, SdkAttributeValue>): Image =>
  Object.fromEntries(Object.entries(image).map(([name, value]) => [name, eventValue(value)]));

/** A stream record as the Lambda event source hands it to a function (DynamoDBRecord of @types/aws-lambda). */
export const eventRecordOf = (record: SdkRecord, streamArn: string): DynamoDBRecord => {
  const stream = record.dynamodb ?? {};
  const created = stream.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    dynamodb: {
      ...(created !== undefined && { ApproximateCreationDateTime: Math.floor(created.getTime() / 1000) }),
      ...(stream.Keys !== undefined && { Keys: eventImage(stream.Keys) }),
      ...(stream.NewImage !== undefined && { NewImage: eventImage(stream.NewImage) }),
      ...(stream.OldImage !== undefined && { OldImage: eventImage(stream.OldImage) }),
      SequenceNumber: stream.SequenceNumber,
      SizeBytes: stream.SizeBytes,
      StreamViewType: stream.StreamViewType,
    },
    eventSourceARN: streamArn,
    ...(record.userIdentity !== undefined && { userIdentity: record.userIdentity }),
  };
};
