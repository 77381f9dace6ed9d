/**
 * systemd/reflector.service: `systemd-analyze verify` is clean and the unit has
 * the hardening and reload options operations rely on (issue: dedicated user,
 * ExecReload = SIGHUP, Restart=on-failure, NoNewPrivileges, ProtectSystem=strict,
 * PrivateTmp, RestrictAddressFamilies, an empty CapabilityBoundingSet).
 * Fails (does not skip) when systemd-analyze is missing.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const UNIT = fileURLToPath(new URL('../../../systemd/reflector.service', import.meta.url));

function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return out;
}

describe('ops: systemd unit', () => {
  it('passes systemd-analyze verify without warnings', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 30_000 });
    expect(r.error, 'systemd-analyze is required (Debian package systemd)').to.equal(undefined);
    expect(r.status, r.stderr).to.equal(0);
    expect(`${r.stdout}${r.stderr}`.trim()).to.equal('');
  });

  it('runs unprivileged and hardened, and reloads with SIGHUP', () => {
    const d = directives(readFileSync(UNIT, 'utf8'));
    expect(d.get('User')?.[0]).to.be.a('string').and.not.equal('root');
    expect(d.get('ExecReload')?.[0]).to.match(/kill -HUP \$MAINPID/);
    expect(d.get('Restart')?.[0]).to.equal('on-failure');
    expect(d.get('NoNewPrivileges')?.[0]).to.equal('yes');
    expect(d.get('ProtectSystem')?.[0]).to.equal('strict');
    expect(d.get('PrivateTmp')?.[0]).to.equal('yes');
    expect(d.get('RestrictAddressFamilies')?.[0]).to.contain('AF_INET');
    expect(d.get('CapabilityBoundingSet')).to.deep.equal(['']);
    expect(d.get('ExecStart')?.[0]).to.match(/dist\/src\/main\.js --config /);
  });
});
