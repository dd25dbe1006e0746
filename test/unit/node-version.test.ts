import { describe, expect, it } from 'vitest';
import { isSupportedNode, MINIMUM_NODE } from '../../src/cli/node-version.ts';

describe('isSupportedNode', () => {
  it.each([
    ['20.20.2', false],
    ['22.17.9', false],
    [MINIMUM_NODE, true],
    ['22.18.1', true],
    ['22.20.0', true],
    ['24.0.0', true],
    ['25.2.1', true],
  ])('Node.js %s: %s', (version, supported) => {
    // Act and assess
    expect(isSupportedNode(version)).toBe(supported);
  });
});
