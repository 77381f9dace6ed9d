/**
 * The dashboard in a real headless Chromium (Debian `chromium` driven by
 * playwright-core): it lists a live session and its participants and updates
 * when one leaves. A screenshot is kept in test-artifacts/ as evidence.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { defaultConfig } from '../../src/config/defaults.js';
import { createOps, type Ops } from '../../src/ops/index.js';
import type { ReflectorCore } from '../../src/reflector/api.js';
import { createReflectorCore } from '../../src/reflector/index.js';
import type { Component } from '../../src/runtime/component.js';
import { silentLogger } from '../../src/runtime/logger.js';

const ADDR = '127.0.5.2';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/', import.meta.url));

function bind(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, address, () => { s.off('error', reject); resolve(s); });
  });
}

describe('ops: dashboard in headless Chromium', function () {
  this.timeout(60_000);
  let core: ReflectorCore & Component;
  let ops: Ops;
  let browser: Browser | undefined;
  const sockets: Socket[] = [];

  before(() => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is required (Debian package chromium)`).to.equal(true);
  });

  afterEach(async () => {
    await browser?.close();
    browser = undefined;
    for (const s of sockets.splice(0)) s.close();
    await ops?.close();
    await core?.close();
  });

  it('shows a live session with its participants and updates when one leaves', async () => {
    const config = { ...defaultConfig(), listenAddress: ADDR, publicAddress: ADDR, statusListen: { address: ADDR, port: 0 }, peers: [] };
    core = createReflectorCore({ config, logger: silentLogger() });
    await core.start();
    ops = createOps({ config, logger: silentLogger(), core, interconnect: null, sip: null, proxy: null, mixer: null, pollMs: 200 });
    await ops.start();
    const port = ops.address()?.port;
    const ids: string[] = [];
    for (const [i, user] of ['alice', 'bob', 'carol'].entries()) {
      const s = await bind(`127.0.5.${20 + i}`);
      sockets.push(s);
      const { address, port: p } = s.address();
      ids.push(core.join({
        session: 'dashboard demo', user, signalingAddress: address, mode: 'reflect',
        streams: [{ medium: 'audio', address, rtpPort: p, rtcpPort: p + 1, direction: 'sendrecv', ssrcs: [],
          codecs: [{ canonicalPt: 0, participantPt: 0, name: 'PCMU', clockRateHz: 8000, channels: 1 }] }],
      }));
    }

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    await page.goto(`http://${ADDR}:${port}/`);
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
