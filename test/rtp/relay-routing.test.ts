import { expect } from 'chai';
import {
  METRIC_VIA_YOU,
  MAX_LIST_ENTRIES,
  RoutingListDrop,
  decodeJoins,
  decodeOrigins,
  decodeRoutes,
  encodeJoins,
  encodeOrigins,
  encodeRoutes,
} from '../../src/rtp/relay-routing.js';
import {
  RELAY_SHIM2_SIZE,
  RELAY_SHIM3_SIZE,
  RelayMedium,
  RelayShim,
  RelayShimDrop,
  encodeRelayDatagram2,
  parseRelayShim,
  writeRelayShim3,
} from '../../src/rtp/relay-shim.js';
import { RflxSubtype } from '../../src/rtp/rflx-types.js';
import { encodeRflx, parseRflx } from '../../src/rtp/rflx.js';

describe('rtp: ROUTES / ORIGINS / JOINS lists and relay shims 2 and 3', () => {
  it('round-trips the three lists, also inside a HELLO and a SESSION_STATE', () => {
    const routes = new Map([[7, 0], [0xffff_fffe, 3], [42, METRIC_VIA_YOU]]);
    const origins = new Map([[7, 2], [9, 0xffff_ffff]]);
    expect(decodeRoutes(encodeRoutes(routes))).to.deep.equal(routes);
    expect(decodeOrigins(encodeOrigins(origins))).to.deep.equal(origins);
    expect(decodeJoins(encodeJoins([3, 4]))).to.deep.equal(new Set([3, 4]));
    const hello = encodeRflx({ subtype: RflxSubtype.Hello, ssrc: 0, fields: { reflectorId: 'r', bootEpoch: 1n, nodeId: 7, routes: encodeRoutes(routes) } }, 'k');
    const back = parseRflx(hello, 0, hello.length);
    if (typeof back === 'string') throw new Error(back);
    expect(back.fields.nodeId).to.equal(7);
    expect(decodeRoutes(back.fields.routes ?? Buffer.alloc(0))).to.deep.equal(routes);
    const st = encodeRflx({ subtype: RflxSubtype.SessionState, ssrc: 0, fields: { session: 's', relayId: 1, count: 2, origins: encodeOrigins(origins), joins: encodeJoins([9]) } });
    const st2 = parseRflx(st, 0, st.length);
    if (typeof st2 === 'string') throw new Error(st2);
    expect(decodeJoins(st2.fields.joins ?? Buffer.alloc(0))).to.deep.equal(new Set([9]));
  });

  it('refuses bad lengths, node 0, duplicates, COUNT 0 and too many entries', () => {
    expect(decodeRoutes(Buffer.alloc(4))).to.equal(RoutingListDrop.BadLength);
    expect(decodeRoutes(Buffer.alloc(5))).to.equal(RoutingListDrop.BadNode);
    expect(decodeJoins(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]))).to.equal(RoutingListDrop.Duplicate);
    expect(decodeOrigins(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]))).to.equal(RoutingListDrop.BadValue);
    expect(decodeJoins(Buffer.alloc(4 * (MAX_LIST_ENTRIES + 1), 1))).to.equal(RoutingListDrop.TooMany);
  });

  it('parses version 2 (ORIGIN, ORIGIN_SEQ) and version 3 (SEQ) shims; refuses ORIGIN 0, SEQ 0 and a missing tag', () => {
    const shim = new RelayShim();
    const d2 = encodeRelayDatagram2(RelayMedium.Video, 3, 0xabcdef01, 0x11223344, 0xfffffff0, Buffer.from([0x80, 1, 2]));
    expect(parseRelayShim(d2, shim)).to.equal(null);
    expect([shim.version, shim.medium, shim.hopCount, shim.relayId, shim.origin, shim.originSeq, shim.payloadOffset])
      .to.deep.equal([2, 1, 3, 0xabcdef01, 0x11223344, 0xfffffff0, RELAY_SHIM2_SIZE]);
    const zero = Buffer.from(d2);
    zero.fill(0, 8, 12);
    expect(parseRelayShim(zero, shim)).to.equal(RelayShimDrop.BadOrigin);

    const d3 = Buffer.alloc(RELAY_SHIM3_SIZE + 20);
    expect(writeRelayShim3(RelayMedium.Audio, 1, 5, 6, 7, 2 ** 40 + 9, d3)).to.equal(RELAY_SHIM3_SIZE);
    expect(parseRelayShim(d3, shim)).to.equal(null);
    expect([shim.version, shim.origin, shim.originSeq, shim.seq, shim.payloadLength]).to.deep.equal([3, 6, 7, 2 ** 40 + 9, 20]);
    expect(writeRelayShim3(RelayMedium.Audio, 1, 5, 6, 7, 0, d3)).to.equal(0);
    const seq0 = Buffer.from(d3);
    seq0.fill(0, 16, 24);
    expect(parseRelayShim(seq0, shim)).to.equal(RelayShimDrop.BadSeq);
    expect(parseRelayShim(d3.subarray(0, RELAY_SHIM3_SIZE + 16), shim)).to.equal(RelayShimDrop.TooShort);
  });
});
