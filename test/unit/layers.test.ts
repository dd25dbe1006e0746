import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { cruise, type ICruiseResult } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { describe, expect, it } from 'vitest';

/** Cruises `file` alone (not what it imports) with the repository's layer rules. */
const cruiseOne = async (file: string): Promise<ICruiseResult> => {
  const options = await extractDepcruiseOptions('./.dependency-cruiser.cjs');
  const result = await cruise(
    [file],
    { ...options, maxDepth: 1, validate: true },
    { extensions: ['.ts', '.js'] },
    { tsConfig: extractTSConfig('tsconfig.json') },
  );
  return result.output as ICruiseResult;
};

describe('the layer rules (.dependency-cruiser.cjs)', () => {
  it('name core-not-to-engine when a module of src/core imports src/engine', async () => {
    // Prepare
    const file = `src/core/layer-probe-${randomUUID()}.ts`;
    await writeFile(file, "export { Admission } from '../engine/admission.ts';\n");

    try {
      // Act
      const result = await cruiseOne(file);

      // Assess
      const violations = result.summary.violations.map((v) => [v.rule.name, v.from, v.to]);
      expect(violations).toContainEqual(['core-not-to-engine', file, 'src/engine/admission.ts']);
      expect(result.summary.error).toBeGreaterThan(0);
    } finally {
      await rm(file, { force: true });
    }
  });

  it('let a module of src/core import src/util', async () => {
    // Prepare
    const file = `src/core/layer-probe-${randomUUID()}.ts`;
    await writeFile(file, "export { concat } from '../util/bytes.ts';\n");

    try {
      // Act
      const result = await cruiseOne(file);

      // Assess
      expect(result.modules.map((m) => m.source)).toContain('src/util/bytes.ts');
      expect(result.summary.violations).toEqual([]);
    } finally {
      await rm(file, { force: true });
    }
  });
});
