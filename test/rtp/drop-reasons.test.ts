import { expect } from 'chai';
import { RoutingListDrop } from '../../src/rtp/relay-routing.js';
import { RelayShimDrop } from '../../src/rtp/relay-shim.js';
import { RflxDrop } from '../../src/rtp/rflx.js';
import { RtcpAppDrop } from '../../src/rtp/rtcp-app.js';
import { RtcpByeDrop } from '../../src/rtp/rtcp-bye.js';
import { RtcpDrop } from '../../src/rtp/rtcp-compound.js';
import { RtcpRrDrop } from '../../src/rtp/rtcp-rr.js';
import { RtcpSdesDrop } from '../../src/rtp/rtcp-sdes.js';
import { RtcpSrDrop } from '../../src/rtp/rtcp-sr.js';
import { RtpDrop } from '../../src/rtp/rtp-header.js';
import { StunDrop } from '../../src/rtp/stun.js';

// The drop reasons are metric labels: stable, snake_case, prefixed by their codec, unique.
const MAPS: Array<[string, Record<string, string>]> = [
  ['rtp_', RtpDrop],
  ['rtcp_', RtcpDrop],
  ['rtcp_sr_', RtcpSrDrop],
  ['rtcp_rr_', RtcpRrDrop],
  ['rtcp_sdes_', RtcpSdesDrop],
  ['rtcp_bye_', RtcpByeDrop],
  ['rtcp_app_', RtcpAppDrop],
  ['stun_', StunDrop],
  ['relay_', RelayShimDrop],
  ['routing_list_', RoutingListDrop],
  ['rflx_', RflxDrop],
];

describe('rtp drop reasons', () => {
  it('are snake_case, prefixed by their codec and unique across codecs', () => {
    const all = new Set<string>();
    for (const [prefix, map] of MAPS) {
      for (const v of Object.values(map)) {
        expect(v).to.match(/^[a-z][a-z0-9_]*$/);
        expect(v.startsWith(prefix), v).to.equal(true);
        expect(all.has(v), v).to.equal(false);
        all.add(v);
      }
    }
    expect(all.size).to.equal(MAPS.reduce((n, [, m]) => n + Object.keys(m).length, 0));
  });
});
