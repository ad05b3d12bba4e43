import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectRoot } from '../../src/devenv/paths';

/** Debian's chromium (`apt-get install chromium`); CHROMIUM_PATH overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const ARTIFACTS_DIR = path.join(projectRoot, 'test-artifacts', 'e2e');

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(`no chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // No sandbox: CI runs as root in a container. No background networking: this machine has
    // no internet, and the browser must not wait on it.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Numbered full-page screenshots, one per step, kept as test artifacts. */
export function screenshotter(page: Page, prefix: string): (step: string) => Promise<string> {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  let n = 0;
  return async (step) => {
    const file = path.join(ARTIFACTS_DIR, `${prefix}-${String(++n).padStart(2, '0')}-${step}.png`);
    await page.screenshot({ path: file, fullPage: true });
    return file;
  };
}
