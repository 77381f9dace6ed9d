// A minimal TURN client (RFC 8656 over UDP) for the interop test: allocates with long-term
// credentials and asks for a permission to each peer; prints one JSON line per peer with the
// outcome ("ok" or the STUN error code). Usage: node turn-permission-probe.mjs LOCAL SERVER PORT USER PASS PEER...
import dgram from 'node:dgram';
import crypto from 'node:crypto';

const [local, server, portText, user, pass, ...peers] = process.argv.slice(2);
const port = Number(portText);
const COOKIE = 0x2112a442;
const sock = dgram.createSocket('udp4');
await new Promise((resolve) => sock.bind(0, local, resolve));

function attr(type, value) {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

function message(type, attrs, key) {
  let body = Buffer.concat(attrs.map(([t, v]) => attr(t, v)));
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt32BE(COOKIE, 4);
  crypto.randomBytes(12).copy(head, 8);
  if (key !== undefined) {
    head.writeUInt16BE(body.length + 24, 2);
    const mac = crypto.createHmac('sha1', key).update(Buffer.concat([head, body])).digest();
    body = Buffer.concat([body, attr(0x0008, mac)]);
  }
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function parse(buf) {
  const attrs = new Map();
  let pos = 20;
  while (pos + 4 <= buf.length) {
    const t = buf.readUInt16BE(pos);
    const l = buf.readUInt16BE(pos + 2);
    attrs.set(t, buf.subarray(pos + 4, pos + 4 + l));
    pos += 4 + Math.ceil(l / 4) * 4;
  }
  const err = attrs.get(0x0009);
  return { type: buf.readUInt16BE(0), attrs, error: err === undefined ? 0 : (err[2] & 7) * 100 + err[3] };
}

function request(msg) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { sock.off('message', on); reject(new Error('no answer from the TURN server')); }, 3000);
    const on = (buf) => {
      if (buf.length < 20 || !buf.subarray(8, 20).equals(msg.subarray(8, 20))) return;
      clearTimeout(t);
      sock.off('message', on);
      resolve(parse(buf));
    };
    sock.on('message', on);
    sock.send(msg, port, server);
  });
}

function xorPeer(ip) {
  const v = Buffer.alloc(8);
  v[1] = 1;
  v.writeUInt16BE(9 ^ (COOKIE >>> 16), 2);
  const o = ip.split('.').map(Number);
  v.writeUInt32BE((((o[0] << 24) | (o[1] << 16) | (o[2] << 8) | o[3]) ^ COOKIE) >>> 0, 4);
  return v;
}

const UDP = Buffer.from([17, 0, 0, 0]);
try {
  const first = await request(message(0x0003, [[0x0019, UDP]]));
  const realm = first.attrs.get(0x0014);
  const nonce = first.attrs.get(0x0015);
  if (first.error !== 401 || realm === undefined || nonce === undefined) throw new Error(`expected 401 with REALM and NONCE, got ${first.error}`);
  const key = crypto.createHash('md5').update(`${user}:${realm.toString()}:${pass}`).digest();
  const auth = [[0x0006, Buffer.from(user)], [0x0014, realm], [0x0015, nonce]];
  const alloc = await request(message(0x0003, [[0x0019, UDP], ...auth], key));
  if (alloc.type !== 0x0103) throw new Error(`allocate failed: ${alloc.error}`);
  console.log(JSON.stringify({ allocated: true }));
  for (const peer of peers) {
    const r = await request(message(0x0008, [[0x0012, xorPeer(peer)], ...auth], key));
    console.log(JSON.stringify({ peer, result: r.type === 0x0108 ? 'ok' : r.error }));
  }
} catch (err) {
  console.log(JSON.stringify({ error: String(err) }));
  process.exitCode = 1;
} finally {
  sock.close();
}
