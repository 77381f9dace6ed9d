/**
 * Building responses to requests (RFC 3261 §8.2.6, §18.2.2): Via/From/To/Call-ID/CSeq copied
 * from the request, received/rport (RFC 3581) on the top Via, our Server header; and where a
 * response to a request goes.
 */
import { safeReason, serialise, type PartialRequest, type SipRequest, type ViaHop } from '../message.js';
import type { SipHeader } from '../sip-error.js';
import type { SipSource } from '../transport/transport.js';

export const SERVER = 'rtp-reflector';

export interface ResponseOpts {
  readonly toTag?: string | undefined;
  readonly headers?: readonly SipHeader[];
  readonly body?: string;
}

/** Where responses to a request with top Via `via` arriving from `src` are sent. */
export function replyTarget(via: ViaHop, src: SipSource): SipSource {
  if (src.transport !== 'udp') return src; // TCP and TLS: the connection the request came on
  // RFC 3581 §4: with rport, answer to the source port; else RFC 3261 §18.2.2 to the Via port at the source IP.
  if (via.rport) return src;
  return { transport: 'udp', address: src.address, port: via.port ?? 5060 };
}

export function buildResponse(req: SipRequest | PartialRequest, src: SipSource, status: number, reason: string,
  opts: ResponseOpts = {}): Buffer {
  const headers: [string, string][] = [];
  const [top, ...rest] = req.via;
  if (top !== undefined) {
    let v = top.raw.replace(/;\s*received\s*=\s*[^;]*/gi, '');
    if (top.rport) v = v.replace(/;\s*rport(\s*=\s*[^;]*)?/i, `;rport=${src.port}`);
    headers.push(['Via', `${v};received=${src.address}`]);
  }
  for (const h of rest) headers.push(['Via', h.raw]);
  const from = req.headers.get('from');
  let to = req.headers.get('to');
  if (to !== undefined && opts.toTag !== undefined && status > 100 && !/;\s*tag\s*=/i.test(to)) to = `${to};tag=${opts.toTag}`;
  if (from !== undefined) headers.push(['From', from]);
  if (to !== undefined) headers.push(['To', to]);
  const callId = req.headers.get('call-id');
  if (callId !== undefined) headers.push(['Call-ID', callId]);
  const cseq = req.headers.get('cseq');
  if (cseq !== undefined) headers.push(['CSeq', cseq]);
  headers.push(['Server', SERVER]);
  for (const h of opts.headers ?? []) headers.push([h[0], h[1]]);
  return serialise({
    startLine: `SIP/2.0 ${status} ${safeReason(reason)}`,
    headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
}
