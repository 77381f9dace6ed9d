/**
 * The RFC 4475 ("SIP Torture Test Messages") corpus as test fixtures.
 *
 * Written down from the RFC's text (sections 3.1–3.4): start lines, header
 * fields, folding, escapes and the defects each message carries are those of
 * the RFC. Line ends are CRLF as on the wire. Where the RFC's byte-exact form
 * could not be reproduced from its text (binary S/MIME parts of mpart01, the
 * exact long strings of longreq), the message keeps the same structure and the
 * same defect; Content-Length is computed from the body unless the message is
 * about a wrong Content-Length, in which case the RFC's value is kept.
 *
 * `expect` is what an endpoint that answers INVITE (with digest required),
 * OPTIONS, BYE, CANCEL and ACK must do with it:
 *   - `status`: one response with one of these codes,
 *   - `dropped`: no response at all (responses with no transaction, and
 *     requests too broken to answer: RFC 3261 §18.3, RFC 4475 §3.1.2 allows
 *     "400 or discard" for these).
 */

export type Expectation =
  | { readonly kind: 'status'; readonly codes: readonly number[] }
  | { readonly kind: 'dropped' }
  | { readonly kind: 'status-or-dropped'; readonly codes: readonly number[] };

export interface TortureMessage {
  /** The RFC's name of the message (its .dat file). */
  readonly name: string;
  /** RFC 4475 section. */
  readonly section: string;
  readonly title: string;
  readonly valid: boolean;
  readonly expect: Expectation;
  /** Where a response goes: the top Via's port (5060 when absent), or the source port with rport. */
  readonly replyPort: number | 'source';
  bytes(): Buffer;
}

const SDP_150 = [
  'v=0', 'o=mhandley 29739 7272939 IN IP4 192.0.2.3', 's=-', 'c=IN IP4 192.0.2.4', 't=0 0',
  'm=audio 49217 RTP/AVP 0 12', 'm=video 3227 RTP/AVP 31', 'a=rtpmap:31 LPC', '',
].join('\r\n');

const SDP_SIMPLE = [
  'v=0', 'o=mhandley 29739 7272939 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 49217 RTP/AVP 0', '',
].join('\r\n');

/** Head text with '\n' line ends (folded lines start with SP/HT); `{CL}` becomes the body's length. */
function msg(head: string, body: string | Buffer = ''): () => Buffer {
  return () => {
    const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const h = head.replace(/\{CL\}/g, String(b.length)).replace(/\n/g, '\r\n');
    return Buffer.concat([Buffer.from(h + '\r\n\r\n', 'utf8'), b]);
  };
}

const status = (...codes: number[]): Expectation => ({ kind: 'status', codes });
const dropped: Expectation = { kind: 'dropped' };
const statusOrDropped = (...codes: number[]): Expectation => ({ kind: 'status-or-dropped', codes });

function longreq(): Buffer {
  const ext = 'extreme'.repeat(60);
  const vias = Array.from({ length: 30 }, (_, i) => `Via: SIP/2.0/TCP sip${i + 33}.example.com;received=192.0.2.${i + 1};branch=z9hG4bK${'longvia'.repeat(4)}${i}`);
  const head = [
    'INVITE sip:user@example.com SIP/2.0',
    `To: "I have a user name of ${ext} proportion"<sip:user@example.com:6000;unknownparam1=very${'long'.repeat(40)}value;longparam${'name'.repeat(40)}=shortvalue;very${'long'.repeat(40)}ParameterNameWithNoValue>`,
    `F: sip:${'amazinglylongcallername'.repeat(10)}@example.net;tag=12982424;unknownheaderparam${'name'.repeat(40)}=unknowheaderparam${'value'.repeat(40)};unknownValueless${'paramname'.repeat(20)}`,
    `Call-ID: longreq.one${'really'.repeat(60)}longcallid`,
    'CSeq: 3882340 INVITE',
    `Unknown-${'Long'.repeat(40)}-Name: unknown-${'long'.repeat(40)}-value; unknown-${'long'.repeat(40)}-parameter-name = unknown-${'long'.repeat(40)}-parameter-value`,
    ...vias,
    'Via: SIP/2.0/SCTP host1.example.com;branch=z9hG4bKkdjuw',
    'Max-Forwards: 70',
    `Contact: <sip:${'amazinglylongcallername'.repeat(10)}@host5.example.net>`,
    'Content-Type: application/sdp',
    'l: {CL}',
  ].join('\n');
  return msg(head, SDP_150)();
}

const MPART_BODY = [
  '--7a9cbec.3a48a1d',
  'Content-Type: text/plain',
  'Content-Transfer-Encoding: binary',
  '',
  'Hello',
  '--7a9cbec.3a48a1d',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: binary',
  '',
  '\u00de\u00ad\u00be\u00ef\u0000\u0001\u0002',
  '--7a9cbec.3a48a1d--',
  '',
].join('\r\n');

export const RFC4475_MESSAGES: readonly TortureMessage[] = [
  // ─── 3.1.1 valid messages ───────────────────────────────────────────────
  {
    name: 'wsinv', section: '3.1.1.1', title: 'A Short Tortuous INVITE', valid: true,
    // Its To carries a tag: an in-dialog request for a dialog we do not have is answered 481 (RFC 3261 §12.2.2).
    expect: status(481), replyPort: 5060,
    bytes: msg(`INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : {CL}
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33`, SDP_150),
  },
  {
    name: 'intmeth', section: '3.1.1.2', title: 'Wide Range of Valid Characters', valid: true,
    // An unknown method: an endpoint answers 501 (RFC 3261 §8.2.1).
    expect: status(501), replyPort: 5060,
    bytes: msg(`!interesting-Method0123456789_*+\`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+\`'~
To: "BEL:\\\u0007 NUL:\\\u0000 DEL:\\\u007f" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~\` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439";tag=_token~1'+\`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word\`~)(><:\\/"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+\`.%indeed'~
Max-Forwards: 255
extensionHeader-!.%*+_\`'~:\ufeff\u5927\u505c\u96fb
Content-Length: 0`),
  },
  {
    name: 'esc01', section: '3.1.1.3', title: 'Valid Use of the % Escaping Mechanism', valid: true, expect: status(401), replyPort: 5060,
    bytes: msg(`INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72=udp%3B%6Dethod=INVITE?%43all-%49D=esc01>
l: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'escnull', section: '3.1.1.4', title: 'Escaped Nulls in URIs', valid: true,
    // REGISTER is a SIP method the reflector does not allow: 405 with Allow.
    expect: status(405), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0`),
  },
  {
    name: 'esc02', section: '3.1.1.5', title: 'Use of % When It Is Not an Escape', valid: true,
    // RE%47IST%45R is not REGISTER (% is no escape in a method): an unknown method, 501.
    expect: status(501), replyPort: 'source',
    bytes: msg(`RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209793
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
Contact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
CSeq: 1 RE%47IST%45R
Content-Length: 0`),
  },
  {
    name: 'lwsdisp', section: '3.1.1.6', title: 'Message with No LWS between Display Name and <', valid: true, expect: status(200), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0`),
  },
  {
    name: 'longreq', section: '3.1.1.7', title: 'Long Values in Header Fields', valid: true, expect: status(401), replyPort: 5060,
    bytes: longreq,
  },
  {
    name: 'dblreq', section: '3.1.1.8', title: 'Extra Trailing Octets in a UDP Datagram', valid: true,
    // Only the REGISTER counts (Content-Length 0); the INVITE after it is ignored. One response.
    expect: status(405), replyPort: 5060,
    bytes: () => Buffer.concat([msg(`REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0`)(), msg(`INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE)()]),
  },
  {
    name: 'semiuri', section: '3.1.1.9', title: 'Semicolon-Separated Parameters in URI User Part', valid: true, expect: status(200), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0`),
  },
  {
    name: 'transports', section: '3.1.1.10', title: 'Varied and Unknown Transport Types', valid: true, expect: status(200), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0`),
  },
  {
    name: 'mpart01', section: '3.1.1.11', title: 'Multipart MIME Message', valid: true,
    // MESSAGE is not allowed here: 405 with Allow.
    expect: status(405), replyPort: 'source',
    bytes: msg(`MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=
Content-Type: multipart/mixed;boundary=7a9cbec.3a48a1d
From: <sip:kumiko@example.org>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmo0MGRlNmMxNGFjZGNmNjU1NmQ5NmQ2NGY3ZWU1NDQ.
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Contact: <sip:kumiko@127.0.0.1:5070>
To: <sip:kumiko@example.org>
Content-Length: {CL}`, Buffer.from(MPART_BODY, 'latin1')),
  },
  {
    name: 'unreason', section: '3.1.1.12', title: 'Unusual Reason Phrase', valid: true,
    // A response that matches no client transaction of ours: counted and discarded.
    expect: dropped, replyPort: 5060,
    bytes: msg(`SIP/2.0 200 = 2**3 * 5**2 \u043d\u043e \u0441\u0442\u043e \u0434\u0435\u0432\u044f\u043d\u043e\u0441\u0442\u043e \u0434\u0435\u0432\u044f\u0442\u044c - \u043f\u0440\u043e\u0441\u0442\u043e\u0435
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'noreason', section: '3.1.1.13', title: 'Empty Reason Phrase', valid: true, expect: dropped, replyPort: 5060,
    bytes: msg(`SIP/2.0 100 
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>`),
  },

  // ─── 3.1.2 invalid messages ─────────────────────────────────────────────
  {
    name: 'badinv01', section: '3.1.2.1', title: 'Extraneous Header Field Separators', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: "Joe" <sip:joe@example.org>;;;;
Content-Length: {CL}
Content-Type: application/sdp`, SDP_SIMPLE),
  },
  {
    name: 'clerr', section: '3.1.2.2', title: 'Content Length Larger Than Message', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999`, SDP_SIMPLE),
  },
  {
    name: 'ncl', section: '3.1.2.3', title: 'Negative Content-Length', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999`, SDP_SIMPLE),
  },
  {
    name: 'scalar02', section: '3.1.2.4', title: 'Request Scalar Fields with Overlarge Values', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1${'0'.repeat(40)}
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0`),
  },
  {
    name: 'scalarlg', section: '3.1.2.5', title: 'Response Scalar Fields with Overlarge Values', valid: false, expect: dropped, replyPort: 5060,
    bytes: msg(`SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0`),
  },
  {
    name: 'quotbal', section: '3.1.2.6', title: 'Unterminated Quoted String in Display Name', valid: false, expect: statusOrDropped(400), replyPort: 5050,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
To: "Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'ltgtruri', section: '3.1.2.7', title: '<> Enclosing Request-URI', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKkdjuw
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'lwsruri', section: '3.1.2.8', title: 'Malformed SIP Request-URI (embedded LWS)', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'lwsstart', section: '3.1.2.9', title: 'Multiple SP Separating Request-Line Elements', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'trws', section: '3.1.2.10', title: 'SP Characters at End of Request-Line', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`OPTIONS sip:remote-target@example.com SIP/2.0  
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0`),
  },
  {
    name: 'escruri', section: '3.1.2.11', title: 'Escaped Headers in SIP Request-URI', valid: false, expect: statusOrDropped(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'baddate', section: '3.1.2.12', title: 'Invalid Time Zone in Date Header Field', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'regbadct', section: '3.1.2.13', title: 'Failure to Enclose name-addr URI in <>', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0`),
  },
  {
    name: 'badaspec', section: '3.1.2.14', title: 'Spaces within addr-spec', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0`),
  },
  {
    name: 'baddn', section: '3.1.2.15', title: 'Non-token Characters in Display Name', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0`),
  },
  {
    name: 'badvers', section: '3.1.2.16', title: 'Unknown Protocol Version', valid: false, expect: status(505), replyPort: 5060,
    bytes: msg(`OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0`),
  },
  {
    name: 'mismatch01', section: '3.1.2.17', title: 'Start Line and CSeq Method Mismatch', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0`),
  },
  {
    name: 'mismatch02', section: '3.1.2.18', title: 'Unknown Method with CSeq Method Mismatch', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525e
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'bigcode', section: '3.1.2.19', title: 'Overlarge Response Code', valid: false, expect: dropped, replyPort: 5060,
    bytes: msg(`SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>`),
  },

  // ─── 3.2 transaction layer semantics ────────────────────────────────────
  {
    name: 'badbranch', section: '3.2.1', title: 'Missing Transaction Identifier', valid: true,
    // A branch that is only the magic cookie: still a request to answer (matched the RFC 2543 way).
    expect: status(200), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0`),
  },

  // ─── 3.3 application layer semantics ────────────────────────────────────
  {
    name: 'insuf', section: '3.3.1', title: 'Missing Required Header Fields', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: {CL}`, SDP_SIMPLE),
  },
  {
    name: 'unkscm', section: '3.3.2', title: 'Request-URI with Unknown Scheme', valid: true, expect: status(416), replyPort: 5060,
    bytes: msg(`OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0`),
  },
  {
    name: 'novelsc', section: '3.3.3', title: 'Request-URI with Known but Atypical Scheme', valid: true,
    // soap.beep is a URI scheme, but not one the reflector serves.
    expect: status(416), replyPort: 5060,
    bytes: msg(`OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0`),
  },
  {
    name: 'unksm2', section: '3.3.4', title: 'Unknown URI Schemes in Header Fields', valid: true,
    // To and From schemes do not matter; REGISTER itself is not allowed here.
    expect: status(405), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0`),
  },
  {
    name: 'bext01', section: '3.3.5', title: 'Proxy-Require and Require', valid: true, expect: status(420), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: 0`),
  },
  {
    name: 'invut', section: '3.3.6', title: 'Unknown Content-Type', valid: true, expect: status(415), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: {CL}`, `<audio>\r\n <pcmu port="443"/>\r\n</audio>\r\n`),
  },
  {
    name: 'regaut01', section: '3.3.7', title: 'Unknown Authorization Scheme', valid: true, expect: status(405), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:0`),
  },
  {
    name: 'multi01', section: '3.3.8', title: 'Multiple Values in Single Value Required Fields', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: {CL}
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5`, SDP_SIMPLE),
  },
  {
    name: 'mcl01', section: '3.3.9', title: 'Multiple Content-Length Values', valid: false, expect: status(400), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain`, 'There\'s no way to know how many octets are supposed to be here.\r\n'),
  },
  {
    name: 'bcast', section: '3.3.10', title: '200 OK Response with Broadcast Via Header Field Value', valid: true, expect: dropped, replyPort: 5060,
    bytes: msg(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23
Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: {CL}
Content-Type: application/sdp
Contact: <sip:user@host28.example.com>`, SDP_SIMPLE),
  },
  {
    name: 'zeromf', section: '3.3.11', title: 'Max-Forwards of Zero', valid: true,
    // An endpoint processes it as if Max-Forwards were still positive (RFC 4475); 483 is a proxy's answer.
    expect: status(200, 483), replyPort: 5060,
    bytes: msg(`OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0`),
  },
  {
    name: 'cparam01', section: '3.3.12', title: 'REGISTER with a Contact Header Parameter', valid: true, expect: status(405), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0`),
  },
  {
    name: 'cparam02', section: '3.3.13', title: 'REGISTER with a url-parameter', valid: true, expect: status(405), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0`),
  },
  {
    name: 'regescrt', section: '3.3.14', title: 'REGISTER with a URL Escaped Header', valid: true, expect: status(405), replyPort: 5060,
    bytes: msg(`REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0`),
  },
  {
    name: 'sdp01', section: '3.3.15', title: 'Unacceptable Accept Offering', valid: true,
    // The offer is fine; an Accept without application/sdp matters only for what we send in a body.
    expect: status(401, 406), replyPort: 5060,
    bytes: msg(`INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw
Content-Length: {CL}
Content-Type: application/sdp`, SDP_SIMPLE),
  },

  // ─── 3.4 backward compatibility ─────────────────────────────────────────
  {
    name: 'inv2543', section: '3.4.1', title: 'INVITE with RFC 2543 Syntax', valid: true, expect: status(401), replyPort: 5060,
    bytes: msg(`INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp
Content-Length: {CL}`, SDP_SIMPLE),
  },
];
