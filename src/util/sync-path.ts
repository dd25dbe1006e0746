import { open } from 'node:fs/promises';

/** Flushes a file or a directory to disk: after a rename or a new file, its directory's entry. */
export const syncPath = async (path: string): Promise<void> => {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
};
