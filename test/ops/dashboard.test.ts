/**
 * The dashboard in a real headless Chromium (Debian `chromium` driven by
 * playwright-core): it lists a live session and its participants and updates
 * when one leaves. A screenshot is kept in test-artifacts/ as evidence.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import type { Socket } from 'node:dgram';
import type { Browser } from 'playwright-core';
import { ARTIFACTS, CHROMIUM, bindSocket, joinPcmu, launchChromium, opsConfig, startOpsStack, type OpsStack } from './harness.js';

const ADDR = '127.0.5.2';

describe('ops: dashboard in headless Chromium', function () {
  this.timeout(60_000);
  let stack: OpsStack | undefined;
  let browser: Browser | undefined;
  const sockets: Socket[] = [];

  before(() => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required (Debian package chromium)`).to.equal(true);
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    for (const s of sockets.splice(0)) s.close();
    await stack?.close();
    stack = undefined;
  });

  it('shows a live session with its participants and updates when one leaves', async () => {
    stack = await startOpsStack(opsConfig(ADDR), { pollMs: 200 });
    const { core, base } = stack;
    const ids: string[] = [];
    for (const [i, user] of ['alice', 'bob', 'carol'].entries()) {
      const s = await bindSocket(`127.0.5.${20 + i}`);
      sockets.push(s);
      ids.push(joinPcmu(core, 'dashboard demo', user, s));
    }

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`${base}/`);
    const session = page.locator('[data-session="dashboard demo"]');
    await session.waitFor({ timeout: 10_000 });
    await page.locator(`[data-participant="${ids[2]}"]`).waitFor({ timeout: 10_000 });
    expect(await session.locator('tr[data-participant]').count()).to.equal(3);
    expect(await session.innerText()).to.contain('alice').and.to.contain('bob').and.to.contain('carol');

    core.leave(ids[1], 'kicked');
    await page.locator(`[data-participant="${ids[1]}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    expect(await session.locator('tr[data-participant]').count()).to.equal(2);
    expect(await session.innerText()).to.not.contain('bob');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(existsSync(`${ARTIFACTS}dashboard.png`)).to.equal(true);
  });
});
