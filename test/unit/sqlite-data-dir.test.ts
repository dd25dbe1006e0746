import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabaseFile } from '../../src/adapters/sqlite/database-file.ts';
import { DataDirError } from '../../src/adapters/sqlite/errors.ts';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/adapters/sqlite/schema.ts';
import { UsageError } from '../../src/core/errors.ts';

const MODULE = fileURLToPath(new URL('../../src/adapters/sqlite/database-file.ts', import.meta.url));
const NOBODY = 65534;

/** Opens FILE in a process of its own, writes a row, says `ready` and holds the database until killed. */
const HOLD = `
  const { openDatabaseFile } = await import(process.env.MODULE);
  const db = openDatabaseFile(process.env.FILE);
  db.prepare("INSERT INTO meta (key, value) VALUES ('holder', '\\"was here\\"')").run();
  process.stdout.write('ready\\n');
  setInterval(() => {}, 60_000);
`;

/** Opens FILE in a process of its own (as user nobody when AS_NOBODY is set) and prints what happened. */
const OPEN = `
  if (process.env.AS_NOBODY) { process.setgid(${NOBODY}); process.setuid(${NOBODY}); }
  const { openDatabaseFile } = await import(process.env.MODULE);
  try {
    openDatabaseFile(process.env.FILE).close();
    console.log(JSON.stringify({ opened: true }));
  } catch (error) {
    console.log(JSON.stringify({ name: error.name, reason: error.reason, message: error.message }));
  }
`;

const child = (script: string, env: Record<string, string>): ChildProcess =>
  spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, MODULE, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });

const outputOf = async (process: ChildProcess): Promise<string> => {
  let output = '';
  process.stdout?.on('data', (data: Buffer) => {
    output += data.toString();
  });
  await once(process, 'exit');
  return output;
};

const openInChild = async (
  file: string,
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> => JSON.parse(await outputOf(child(OPEN, { FILE: file, ...env })));

const ready = async (holder: ChildProcess): Promise<void> => {
  let output = '';
  for await (const data of holder.stdout as AsyncIterable<Buffer>) {
    output += data.toString();
    if (output.includes('ready')) return;
  }
  throw new Error('the holder ended before it was ready');
};

/** What open threw, or a failure when it did not throw. */
const openError = (file: string): DataDirError => {
  try {
    openDatabaseFile(file).close();
  } catch (error) {
    return error as DataDirError;
  }
  throw new Error(`${file} opened`);
};

let dir: string;
let file: string;
let holders: ChildProcess[];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fanout-data-dir-'));
  file = join(dir, 'fanout.db');
  holders = [];
});

afterEach(async () => {
  for (const holder of holders)
    if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('openDatabaseFile', () => {
  it('makes a new database, marked as Fanout schema version 1, in WAL mode with incremental vacuum', () => {
    // Act
    const db = openDatabaseFile(file);

    // Assess
    const pragma = (name: string) => Object.values(db.prepare(`PRAGMA ${name}`).get() ?? {})[0];
    expect(pragma('application_id')).toBe(APPLICATION_ID);
    expect(pragma('user_version')).toBe(SCHEMA_VERSION);
    expect(pragma('journal_mode')).toBe('wal');
    expect(pragma('auto_vacuum')).toBe(2); // INCREMENTAL
    expect(pragma('synchronous')).toBe(1); // NORMAL
    db.close();
  });

  it('opens again what it made, with what was written before', () => {
    // Prepare
    const first = openDatabaseFile(file);
    first.prepare("INSERT INTO meta (key, value) VALUES ('k', '1')").run();
    first.close();

    // Act
    const second = openDatabaseFile(file);

    // Assess
    expect(second.prepare("SELECT value FROM meta WHERE key = 'k'").get()?.value).toBe('1');
    second.close();
  });
});

describe('openDatabaseFile, a lock for one process', () => {
  it('refuses a database that another process holds, naming it and saying what to do', async () => {
    // Prepare
    const holder = child(HOLD, { FILE: file });
    holders.push(holder);
    await ready(holder);

    // Act
    const error = openError(file);

    // Assess
    expect(error).toBeInstanceOf(DataDirError);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.reason).toBe('locked');
    expect(error.path).toBe(file);
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/another fanout process/);
  });

  it.each([
    ['it has just made', false],
    ['that existed, having written nothing to it yet', true],
  ])('is refused to another process while this one holds a database %s', async (_, existed) => {
    // Prepare
    if (existed) openDatabaseFile(file).close();
    const db = openDatabaseFile(file);

    // Act
    const outcome = await openInChild(file);

    // Assess
    expect(outcome).toMatchObject({ name: 'DataDirError', reason: 'locked' });
    db.close();
  });

  it('lets a new process open the database once the holder was killed with SIGKILL, keeping its writes', async () => {
    // Prepare
    const holder = child(HOLD, { FILE: file });
    holders.push(holder);
    await ready(holder);

    // Act
    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const db = openDatabaseFile(file);

    // Assess: no stale lock, and the holder's committed write survived it
    expect(db.prepare("SELECT value FROM meta WHERE key = 'holder'").get()?.value).toBe('"was here"');
    db.close();
  });

  it('lets the next process open the database once the holder closed it', async () => {
    // Prepare
    openDatabaseFile(file).close();

    // Act
    const outcome = await openInChild(file);

    // Assess
    expect(outcome).toEqual({ opened: true });
  });
});

describe('openDatabaseFile, a file it cannot use', () => {
  it('refuses a file that is not a database as corrupt, and leaves its bytes as they were', async () => {
    // Prepare
    const bytes = Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919) % 251));
    await writeFile(file, bytes);

    // Act
    const error = openError(file);

    // Assess
    expect(error).toBeInstanceOf(DataDirError);
    expect(error.reason).toBe('corrupt');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/remove the directory to start clean/);
    expect(await readFile(file)).toEqual(bytes);
  });

  it('refuses an SQLite database that another program wrote as incompatible, and writes nothing to it', async () => {
    // Prepare
    const other = new DatabaseSync(file);
    other.exec("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
    other.close();
    const before = await readFile(file);

    // Act
    const error = openError(file);

    // Assess
    expect(error.reason).toBe('incompatible');
    expect(error.message).toContain(file);
    expect(error.message).toMatch(/another --data-dir, or remove the directory to start clean/);
    expect(await readFile(file)).toEqual(before);
  });

  it('refuses a Fanout database of another schema version as incompatible, and writes nothing to it', async () => {
    // Prepare: a database a later fanout made
    openDatabaseFile(file).close();
    const later = new DatabaseSync(file);
    later.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
    later.close();
    const before = await readFile(file);

    // Act
    const error = openError(file);

    // Assess
    expect(error.reason).toBe('incompatible');
    expect(error.message).toMatch(new RegExp(`schema version ${SCHEMA_VERSION + 1}`));
    expect(await readFile(file)).toEqual(before);
  });

  it('refuses a path inside a regular file as not writable', async () => {
    // Prepare
    await writeFile(join(dir, 'plain'), 'not a directory');
    const inside = join(dir, 'plain', 'fanout.db');

    // Act
    const error = openError(inside);

    // Assess
    expect(error.reason).toBe('not-writable');
    expect(error.path).toBe(inside);
    expect(error.message).toContain(inside);
  });

  // Root writes through file modes, so when the tests run as root the open runs as user nobody.
  const isRoot = process.getuid?.() === 0;

  it.skipIf(process.getuid === undefined)(
    'refuses a database in a directory the process may not write as not writable',
    async () => {
      // Prepare
      const readOnly = join(dir, 'read-only');
      await mkdir(readOnly);
      await chmod(dir, 0o755);
      await chmod(readOnly, 0o555);

      // Act
      const outcome = await openInChild(join(readOnly, 'fanout.db'), isRoot ? { AS_NOBODY: '1' } : {});

      // Assess
      expect(outcome).toMatchObject({ name: 'DataDirError', reason: 'not-writable' });
    },
  );

  it.skipIf(process.getuid === undefined)(
    'refuses a database file the process may not write as not writable, and leaves it as it was',
    async () => {
      // Prepare
      openDatabaseFile(file).close();
      await chmod(dir, 0o755);
      await chmod(file, 0o444);
      const before = await readFile(file);

      // Act
      const outcome = await openInChild(file, isRoot ? { AS_NOBODY: '1' } : {});

      // Assess
      expect(outcome).toMatchObject({ name: 'DataDirError', reason: 'not-writable' });
      expect(await readFile(file)).toEqual(before);
    },
  );
});
