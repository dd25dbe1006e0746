import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Where a Chromium may be: `FANOUT_CHROMIUM` first, then the names Debian and others give it on PATH. */
const CANDIDATES = ['chromium', 'chromium-browser', 'google-chrome'];

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

const onPath = (): string | undefined => {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of CANDIDATES)
    for (const dir of dirs) if (executable(join(dir, name))) return join(dir, name);
  return undefined;
};

/**
 * A Chromium to drive: the one `FANOUT_CHROMIUM` names, or one on PATH; failing both, Debian's package
 * is installed with apt-get (as root, as CI runs). The dashboard's test is skipped nowhere, so a machine
 * with neither fails here, saying how to get one.
 */
export const findChromium = (): string => {
  const named = process.env.FANOUT_CHROMIUM;
  if (named) {
    if (!executable(named)) throw new Error(`FANOUT_CHROMIUM=${named} is not an executable file`);
    return named;
  }
  const found = onPath();
  if (found) return found;
  if (process.getuid?.() === 0) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    execFileSync(
      'apt-get',
      ['install', '-y', '-qq', '--no-install-recommends', 'chromium', 'fonts-liberation'],
      {
        stdio: 'ignore',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
    );
    const installed = onPath();
    if (installed) return installed;
  }
  throw new Error(
    'no Chromium found: install one (Debian: apt-get install chromium) or set FANOUT_CHROMIUM to its path',
  );
};

/** Debian's Chromium, headless; its sandbox needs user namespaces, which containers often lack. */
export const launchChromium = (): Promise<Browser> =>
  chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox'] });

/** axe-core's violations of `page` that are serious or critical, as `rule: what (where)` lines. */
export const seriousViolations = async (page: Page): Promise<string[]> => {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${v.help} (${n.target.join(' ')})`));
};
