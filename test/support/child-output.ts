import type { ChildProcess } from 'node:child_process';

/**
 * Resolves with the first group of `pattern` once the child's stderr matches it, such as the URL a server
 * says it listens on; rejects, with what the child wrote, when it exits first.
 */
export const matchOnStderr = (child: ChildProcess, pattern: RegExp): Promise<string> =>
  new Promise((resolve, reject) => {
    let seen = '';
    child.stderr?.on('data', (text: Buffer | string) => {
      seen += text.toString();
      const match = pattern.exec(seen);
      if (match) resolve(match[1] as string);
    });
    child.once('exit', (code) =>
      reject(new Error(`the child exited with ${code} before ${pattern}:\n${seen}`)),
    );
  });
