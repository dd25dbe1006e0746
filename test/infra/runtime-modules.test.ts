import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/fanout-function.ts';
import { copyCommands, runtimeModuleDirs } from '../../infra/runtime-modules.ts';

describe('runtimeModuleDirs', () => {
  it('lists the Pub/Sub client and what it loads at run time, each folder once', () => {
    // Act
    const dirs = runtimeModuleDirs(PROJECT_ROOT, ['@google-cloud/pubsub', 'google-auth-library']);

    // Assess
    expect(dirs).toEqual(
      expect.arrayContaining([
        'node_modules/@google-cloud/pubsub',
        'node_modules/google-gax',
        'node_modules/@grpc/grpc-js',
        'node_modules/google-auth-library',
      ]),
    );
    expect(new Set(dirs).size).toBe(dirs.length);
    expect(dirs.filter((dir) => dirs.some((outer) => dir !== outer && dir.startsWith(`${outer}/`)))).toEqual(
      [],
    );
    expect(dirs).not.toContain('node_modules/vitest');
  });

  it('refuses a package that is not installed', () => {
    // Act
    const list = () => runtimeModuleDirs(PROJECT_ROOT, ['no-such-package-fanout']);

    // Assess
    expect(list).toThrow(/no-such-package-fanout is not installed/);
  });
});

describe('copyCommands', () => {
  it('copies each folder to the same place under the output, quoting paths for the shell', () => {
    // Act
    const commands = copyCommands('/in', "/out/it's", ['node_modules/@google-cloud/pubsub']);

    // Assess
    expect(commands).toEqual([
      "mkdir -p '/out/it'\\''s/node_modules/@google-cloud' && cp -R '/in/node_modules/@google-cloud/pubsub' '/out/it'\\''s/node_modules/@google-cloud/pubsub'",
    ]);
  });
});
