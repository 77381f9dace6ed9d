/**
 * EXPERIMENT (not used by src/): the one-session latching reflector of
 * /work/shared/perf/reflector.c, in Node with batched I/O through the
 * mmsg addon — one JS call per batch of up to 64 received datagrams and one
 * sendmmsg per up to 1024 copies, instead of one callback and one send()
 * per datagram and copy. It shows how much of the gap to the C reference is
 * the per-datagram cost of node:dgram.
 *
 * usage: node dist/tools/native/mmsg-reflector.js PORT [BIND_ADDR]
 * Prints counters to stderr on SIGTERM/SIGINT.
 */
import { buildMmsgAddon, loadMmsgAddon } from './build.js';

const MAX_PEERS = 1024;
const MAX_OUT = 64 * MAX_PEERS;

function main(): void {
  const port = Number(process.argv[2] ?? 5004);
  const host = process.argv[3] ?? '127.0.0.1';
  const built = buildMmsgAddon();
  if (built.path === undefined) throw new Error(`mmsg addon: ${built.error ?? 'unknown error'}`);
  const mm = loadMmsgAddon(built.path);
  const rxArena = Buffer.alloc(mm.RB * mm.SLOT);
  const rxDesc = new Int32Array(mm.RB * 4);
  const txDesc = new Int32Array(MAX_OUT * 4);
  const peerIp = new Int32Array(MAX_PEERS);
  const peerPort = new Int32Array(MAX_PEERS);
  const known = new Map<number, number>(); // ip * 65536 + port -> peer index
  let npeers = 0;
  let fd = -1;

  const onBatch = (n: number): void => {
    let out = 0;
    for (let j = 0; j < n; j++) {
      const len = rxDesc[4 * j] as number;
      const ip = rxDesc[4 * j + 1] as number;
      const sport = rxDesc[4 * j + 2] as number;
      const key = (ip >>> 0) * 65536 + sport;
      let src = known.get(key);
      if (src === undefined) {
        if (npeers === MAX_PEERS) continue;
        src = npeers++;
        peerIp[src] = ip;
        peerPort[src] = sport;
        known.set(key, src);
      }
      const off = j * mm.SLOT;
      for (let p = 0; p < npeers; p++) {
        if (p === src) continue;
        const d = 4 * out++;
        txDesc[d] = off;
        txDesc[d + 1] = len;
        txDesc[d + 2] = peerIp[p] as number;
        txDesc[d + 3] = peerPort[p] as number;
      }
    }
    if (out > 0) mm.sendBatch(fd, rxArena, txDesc, out);
  };

  fd = mm.open(host, port, Number(process.env.RCVBUF ?? 4194304), rxArena, rxDesc, onBatch);
  const finish = (): void => {
    const [rxCalls, rxPkts, txCalls, txPkts, txDrop] = mm.stats();
    process.stderr.write(
      `mmsg-reflector: participants=${npeers} rx=${rxPkts} tx=${txPkts} tx_drop=${txDrop} recvmmsg_calls=${rxCalls} sendmmsg_calls=${txCalls}\n`,
    );
    mm.close(fd);
    process.exit(0);
  };
  process.on('SIGTERM', finish);
  process.on('SIGINT', finish);
}

main();
