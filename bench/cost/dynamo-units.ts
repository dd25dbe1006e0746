/**
 * DynamoDB item sizes and capacity units by DynamoDB's published rules
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
 * an item is the sum of its attribute names (UTF-8 bytes) and values; a string is its UTF-8 bytes, a
 * number 1 byte per two significant digits plus 1, binary its raw bytes, null and boolean 1 byte, a list
 * or map 3 bytes plus its elements, with 1 byte more per element. A write unit is 1 KB of the larger of
 * the item before and after the write (at least 1); a read unit is 4 KB (at least 1) for a strongly
 * consistent read, half that for an eventually consistent one; a transaction costs twice either.
 */

export type AttributeValue = {
  S?: string;
  N?: string;
  B?: string;
  BOOL?: boolean;
  NULL?: boolean;
  L?: AttributeValue[];
  M?: Record<string, AttributeValue>;
  SS?: string[];
  NS?: string[];
  BS?: string[];
};
export type Item = Record<string, AttributeValue>;

export const WRITE_UNIT_BYTES = 1024;
export const READ_UNIT_BYTES = 4096;

const utf8 = (text: string): number => Buffer.byteLength(text);

export const numberSize = (n: string): number => {
  const mantissa = n.replace(/^[-+]/, '').split(/[eE]/)[0] ?? '';
  const digits = mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
};

const binarySize = (base64: string): number => Buffer.from(base64, 'base64').byteLength;

export const valueSize = (value: AttributeValue): number => {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return binarySize(value.B);
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((sum, element) => sum + valueSize(element) + 1, 0);
  if (value.M !== undefined) {
    return (
      3 +
      Object.entries(value.M).reduce((sum, [name, element]) => sum + utf8(name) + valueSize(element) + 1, 0)
    );
  }
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, s) => sum + numberSize(s), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, s) => sum + binarySize(s), 0);
  return 0;
};

export const itemSize = (item: Item): number =>
  Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);

export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / WRITE_UNIT_BYTES));
export const readUnits = (bytes: number, consistent: boolean): number =>
  Math.max(1, Math.ceil(bytes / READ_UNIT_BYTES)) * (consistent ? 1 : 0.5);

/** A record of one DynamoDB request: its operation, status and parsed bodies. */
export interface DynamoRequest {
  operation: string;
  status: number;
  request: unknown;
  response: unknown;
}

export interface DynamoUnits {
  /** Write request units, transactions doubled. */
  wru: number;
  /** Read request units, transactions doubled, eventually consistent reads halved. */
  rru: number;
  /** Writes (item-level) whose size came from the item as it was at the end of the run (no new image returned). */
  sizedFromFinal: number;
  /** Item sizes written, for the report: bytes of the item after each successful write. */
  writeSizes: number[];
}

interface KeyedWrite {
  table: string;
  key: Item;
  /** The whole new item, when the request carries it (a Put). */
  item?: Item;
  /** The new image, when the response returned it (ReturnValues ALL_NEW). */
  returned?: Item;
  kind: 'put' | 'update' | 'delete' | 'check';
}

const KEY_ATTRIBUTES = ['pk', 'sk'];

const keyOf = (item: Item): Item =>
  Object.fromEntries(Object.entries(item).filter(([name]) => KEY_ATTRIBUTES.includes(name)));

const keyString = (table: string, key: Item): string =>
  `${table}|${KEY_ATTRIBUTES.map((name) => JSON.stringify(key[name] ?? null)).join('|')}`;

type Body = Record<string, unknown>;

const writesOf = (operation: string, request: Body, response: Body): KeyedWrite[] => {
  const table = String(request.TableName ?? '');
  switch (operation) {
    case 'PutItem': {
      const item = request.Item as Item;
      return [{ table, key: keyOf(item), item, kind: 'put' }];
    }
    case 'UpdateItem':
      return [
        {
          table,
          key: request.Key as Item,
          kind: 'update',
          ...(request.ReturnValues === 'ALL_NEW' &&
            response.Attributes !== undefined && { returned: response.Attributes as Item }),
        },
      ];
    case 'DeleteItem':
      return [{ table, key: request.Key as Item, kind: 'delete' }];
    case 'TransactWriteItems':
      return ((request.TransactItems ?? []) as Body[]).map((entry): KeyedWrite => {
        const [kind, body] = Object.entries(entry)[0] as [string, Body];
        const t = String(body.TableName ?? '');
        if (kind === 'Put')
          return { table: t, key: keyOf(body.Item as Item), item: body.Item as Item, kind: 'put' };
        if (kind === 'Update') return { table: t, key: body.Key as Item, kind: 'update' };
        if (kind === 'Delete') return { table: t, key: body.Key as Item, kind: 'delete' };
        return { table: t, key: body.Key as Item, kind: 'check' };
      });
    case 'BatchWriteItem':
      return Object.entries((request.RequestItems ?? {}) as Record<string, Body[]>).flatMap(([t, entries]) =>
        entries.map((entry): KeyedWrite => {
          const put = entry.PutRequest as Body | undefined;
          if (put) return { table: t, key: keyOf(put.Item as Item), item: put.Item as Item, kind: 'put' };
          return { table: t, key: (entry.DeleteRequest as Body).Key as Item, kind: 'delete' };
        }),
      );
    default:
      return [];
  }
};

/**
 * Capacity units of DynamoDB requests taken in arrival order. The size of an item before a write is the
 * size the last write of the same key left (0 for a new item). The size after a Put is its item; after
 * an update, the new image the response returned, or else the item as it stands at the end of the run
 * (`finalSizes`, from a scan: for a task's finish, its last write, exact; otherwise at least the size it
 * had then). A failed write (a condition not met) still costs the units of the item it was checked on.
 */
export const dynamoUnits = (
  requests: readonly DynamoRequest[],
  finalSizes: ReadonlyMap<string, number>,
): DynamoUnits => {
  const sizes = new Map<string, number>();
  const units: DynamoUnits = { wru: 0, rru: 0, sizedFromFinal: 0, writeSizes: [] };
  for (const { operation, status, request, response } of requests) {
    const req = (request ?? {}) as Body;
    const res = (response ?? {}) as Body;
    const ok = status >= 200 && status < 300;
    const transactional = operation.startsWith('Transact');
    const factor = transactional ? 2 : 1;
    const writes = writesOf(operation, req, res);
    for (const write of writes) {
      const id = keyString(write.table, write.key);
      const before = sizes.get(id) ?? 0;
      let after = before;
      if (write.kind === 'put') after = itemSize(write.item as Item);
      else if (write.kind === 'delete') after = 0;
      else if (write.kind === 'update') {
        if (write.returned) after = itemSize(write.returned);
        else {
          after = finalSizes.get(id) ?? before;
          units.sizedFromFinal++;
        }
      }
      units.wru += factor * writeUnits(ok ? Math.max(before, after) : before);
      if (ok && write.kind !== 'check') {
        sizes.set(id, after);
        units.writeSizes.push(after);
      }
    }
    if (writes.length > 0) continue;
    const consistent = req.ConsistentRead === true;
    switch (operation) {
      case 'GetItem':
        units.rru += readUnits(res.Item ? itemSize(res.Item as Item) : 0, consistent);
        break;
      case 'Query':
      case 'Scan': {
        const items = (res.Items ?? []) as Item[];
        units.rru += readUnits(
          items.reduce((sum, item) => sum + itemSize(item), 0),
          consistent,
        );
        break;
      }
      case 'BatchGetItem':
        for (const items of Object.values((res.Responses ?? {}) as Record<string, Item[]>)) {
          for (const item of items) units.rru += readUnits(itemSize(item), consistent);
        }
        break;
      case 'TransactGetItems':
        for (const entry of (res.Responses ?? []) as Body[]) {
          units.rru += 2 * readUnits(entry.Item ? itemSize(entry.Item as Item) : 0, true);
        }
        break;
      default:
        break;
    }
  }
  return units;
};

/** Sizes of every item in a table scan, by the key string {@link dynamoUnits} uses. */
export const sizesByKey = (table: string, items: readonly Item[]): Map<string, number> =>
  new Map(items.map((item) => [keyString(table, keyOf(item)), itemSize(item)]));

/** Whether an operation reads or writes items (billed), rather than managing tables (free). */
export const isDataOperation = (operation: string): boolean =>
  /^(GetItem|PutItem|UpdateItem|DeleteItem|Query|Scan|BatchGetItem|BatchWriteItem|TransactGetItems|TransactWriteItems|ExecuteStatement|BatchExecuteStatement|ExecuteTransaction)$/.test(
    operation,
  );
