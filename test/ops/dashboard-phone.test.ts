/**
 * The dashboard at phone width (390 × 844) in a real headless Chromium against a real reflector
 * process: no sideways scrolling of the page, participants by their SIP display name, a live share
 * (sharer, viewers, bytes) and a file (sender, size, expiry) with their events. The share and the file
 * come from the real client (tools/client) over SIP, RFLX and TCP. A screenshot goes to test-artifacts/.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { killChildren, startClient, type ClientProcess } from '../helpers/client-cli.js';
import { baseConfig, startReflector, type ReflectorProcess } from '../helpers/reflector-process.js';
import { ARTIFACTS, CHROMIUM, launchChromium } from './harness.js';

const IP = '127.0.80.90';

describe('ops: dashboard at phone width with shares, files and their events', function () {
  this.timeout(90_000);
  let refl: ReflectorProcess | null = null;
  let browser: Browser | undefined;
  const clients: ClientProcess[] = [];
  let dir = '';

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    await killChildren(clients.splice(0).map((c) => c.proc));
    await refl?.stop();
    refl = null;
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  it('is readable at 390 px: no page overflow, share and file details, share/file events', async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required (Debian package chromium)`).to.equal(true);
    dir = mkdtempSync(join(tmpdir(), 'dashphone-'));
    writeFileSync(join(dir, 'minutes.txt'), 'x'.repeat(50_000));
    refl = await startReflector({ config: baseConfig(IP, '', { statusPort: 8080 }) });
    const common = { server: IP, session: 'phone demo', cwd: dir, waitMs: 30_000, stepTimeoutS: 30 };
    // A viewer-to-be that stays, so the session (and the file) lives on.
    const stay = startClient({ ...common, local: '127.0.80.91', args: ['--name', 'Stayer', '--duration', '60'] });
    clients.push(stay);
    await stay.event((e) => e.event === 'joined' || e.type === 'joined' || JSON.stringify(e).includes('joined'), 20_000).catch(() => undefined);
    const sharer = startClient({ ...common, local: '127.0.80.92', args: ['--name', 'Sharon', '--share', '-', '--title', 'Slides'] });
    clients.push(sharer);
    sharer.proc.stdin?.write('y'.repeat(10_000));
    const sender = startClient({ ...common, local: '127.0.80.93', args: ['--name', 'Sam', '--send-file', 'minutes.txt'] });
    clients.push(sender);
    const sent = await sender.done(30_000);
    expect(sent.code, JSON.stringify(sent.summary)).to.equal(0);

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await page.goto(`http://${IP}:8080/`);
    await page.locator('[data-session="phone demo"] tr[data-participant]').first().waitFor({ timeout: 10_000 });
    const files = page.locator('[data-testid="files"]');
    await files.waitFor({ timeout: 10_000 });
    const fileRow = await files.locator('tr[data-file]').first().innerText();
    expect(fileRow).to.contain('minutes.txt').and.to.contain('48.8 KiB').and.to.match(/in \d+ min/);
    const shares = page.locator('[data-testid="shares"]');
    await shares.waitFor({ timeout: 10_000 });
    const shareRow = await shares.locator('tr[data-share]').first().innerText();
    expect(shareRow).to.contain('Slides').and.to.contain('Sharon');
    expect(fileRow).to.contain('Sam');
    await page.locator('[data-event="file_ready"]').first().waitFor({ timeout: 10_000 });
    await page.locator('[data-event="share_start"]').first().waitFor({ timeout: 10_000 });
    const names = await page.locator('[data-session="phone demo"]').innerText();
    expect(names).to.contain('Stayer').and.to.contain('Sharon');
    // Nothing makes the page itself wider than the phone (tables scroll inside their boxes).
    const widths = await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]') as number[];
    expect(widths[0], `page width ${widths[0]} at viewport ${widths[1]}`).to.be.at.most(widths[1]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: `${ARTIFACTS}dashboard-phone.png`, fullPage: true });
    sharer.proc.stdin?.end();
  });
});
