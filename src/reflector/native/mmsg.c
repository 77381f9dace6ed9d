/*
 * mmsg.c - batched UDP I/O for the reflector core (Linux recvmmsg/sendmmsg) as
 * a Node-API addon, built by tools/build-native.ts into dist/native/mmsg.node.
 * The core falls back to node:dgram when it is absent (src/reflector/batched-udp.ts).
 *
 * The addon owns a non-blocking UDP socket (IPv4, or IPv6 incl. dual-stack), polls it
 * on Node's libuv loop, and on readiness reads up to RB datagrams per recvmmsg into a
 * caller-owned arena (slot j at j*SLOT bytes), then makes ONE JS call per batch (per run of
 * datagrams that are not fanned out natively, below). The JS
 * side queues its sends as descriptors and hands them back with sendBatch (sendmmsg),
 * before it returns, so the arena is never reused while a send still points into it.
 *
 * JS API:
 *   open(address, port, family 4|6, bufBytes, rxArena: Buffer, rxDesc: Int32Array, onBatch(start, end)) -> id
 *       bufBytes: SO_RCVBUF/SO_SNDBUF, with SO_*BUFFORCE first (uncapped when CAP_NET_ADMIN).
 *       rxDesc[RXD*j ..]: length, source port, scope id, a0, a1, a2, a3, flags
 *       (IPv4: a0 = address in host order; IPv6: a0..a3 = the 4 words, each host order;
 *        flags: 1 = IPv6 source, 2 = truncated (longer than SLOT)).
 *       Throws an Error with .code (EADDRINUSE, …) when the bind fails.
 *   sendBatch(id, rxArena, txArena, desc: Int32Array, count) -> datagrams sent
 *       desc[TXD*k ..]: which (0 rxArena, 1 txArena), offset, length, port, scope, a0..a3, 0
 *       One sendmmsg per up to SB (1024) datagrams.
 *       EAGAIN/ENOBUFS (socket buffer full) drops the rest of the batch; other errors drop
 *       that datagram; both counted in stats().
 *   localPort(id) -> bound port
 *   parseAddr(text, family 4|6, out: Int32Array(5)) -> bool   out = scope, a0..a3
 *       (an IPv4 text for an IPv6 socket becomes ::ffff:a.b.c.d)
 *   addrText(flags, scope, a0, a1, a2, a3) -> string  (the text node:dgram would give)
 *   stats(id) -> [rxCalls, rxPackets, rxTruncated, rxErrors, txCalls, txPackets, txDropFull, txErrors,
 *                 rcvbufBytes, sndbufBytes]  (the last two as getsockopt reports them)
 *   close(id)  idempotent: stops the poll, closes the fd, frees on the handle's close callback.
 *
 * Native fan-out (plain reflect, docs/performance.md "What would close the gap" item 4;
 * mirrored from JS by src/reflector/native-fanout.ts). Per socket:
 *   fanSession(id, session, nativeOk)       session ids and endpoint ids are small ints chosen by JS
 *   fanRecipients(id, session, desc: Int32Array, count)   replaces the session's recipient list;
 *       desc[FRD*k ..]: endpoint, port, scope, a0..a3 (the words of parseAddr)
 *   fanSource(id, addr: Int32Array(5), port, session, endpoint, trace) latches a source (replaces)
 *   fanUnlatch(id, addr: Int32Array(5), port)
 *   fanCounters(id, ctr: Float64Array)  per endpoint e, at FCS*e: inPackets, inBytes, outPackets,
 *       outBytes, lastSeenMs (Date.now() clock); the addon adds, JS reads and zeroes.
 *   fanTrace(id, ring: Float64Array)    ring[0] = entries; entry k at 1+FTS*k: endpoint, sequence,
 *       payload type, timestamp, arrivalMs — of datagrams of sources latched with trace = 1
 *       (JS replays them into its RTP statistics); JS empties it by setting ring[0] = 0.
 *   fanStats(id) -> [datagrams fanned out natively, copies queued, copies not sent]
 * A received datagram is fanned out here when its source is latched, its session is nativeOk,
 * it is valid RTP (the checks of parseRtpHeader; not RTCP multiplexed on the port), its SSRC is
 * the one last seen from that source, and the counter array (and trace ring) have room; then
 * one copy per recipient other than the source's own endpoint. Everything else goes to JS
 * exactly as before. Datagrams are handled in arrival order: a run of native datagrams is
 * sent (one sendmmsg per up to 1024 copies) before JS is called for the next run of the
 * others. onBatch(start, end) is called once per run and returns where it stopped: `end`, or
 * the index after a datagram whose handling changed the tables (a latch, say), and the
 * datagrams after it are decided again — so every datagram is decided against the tables as
 * JS left them after the previous one, as with one call per datagram. A datagram with a new
 * SSRC goes to JS alone.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define RB 64
#define SB 1024 /* UIO_MAXIOV: the most sendmmsg takes per call */
#define SLOT 65536 /* any UDP datagram fits; pages are touched only as far as datagrams reach */
#define RXD 8
#define TXD 10
#define MAX_SOCKS 64
#define ROUNDS 16
#define FRD 7     /* fanRecipients descriptor ints */
#define FCS 5     /* fanCounters doubles per endpoint */
#define FTS 5     /* fanTrace doubles per entry */
#define FAN_MAX_ID (1 << 20)

typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} addr_u;

typedef struct {
  addr_u a;
  socklen_t alen;
  int32_t ep;
} fan_rcpt_t;

typedef struct {
  int ok;
  int n;
  fan_rcpt_t *r;
} fan_sess_t;

enum { SRC_EMPTY = 0, SRC_USED = 1, SRC_GONE = 2 };

typedef struct {
  uint32_t w[4];
  uint32_t scope;
  uint16_t port;
  uint8_t state;
  uint8_t trace;
  int32_t sess;
  int32_t ep;
  uint32_t ssrc;
  int ssrc_known;
} fan_src_t;

typedef struct {
  int id;
  int fd;
  int family;
  int open;
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_ref arena_ref;
  napi_ref desc_ref;
  napi_async_context actx;
  unsigned char *arena;
  int32_t *desc;
  addr_u src[RB];
  struct mmsghdr msgs[RB];
  struct iovec iov[RB];
  double st[8];
  /* sendBatch's vector (per socket: no shared state between sockets). */
  struct mmsghdr smsg[SB];
  struct iovec siov[SB];
  addr_u sdst[SB];
  /* Native fan-out tables. */
  fan_sess_t *fsess;
  int nfsess;
  fan_src_t *fsrc; /* open addressing, linear probing; capacity a power of two */
  uint32_t fsrc_cap, fsrc_used, fsrc_live;
  double *fctr;
  size_t fctr_len;
  napi_ref fctr_ref;
  double *ftrace;
  size_t ftrace_len;
  napi_ref ftrace_ref;
  struct mmsghdr *fmsg; /* copies of the current run */
  size_t fmsg_cap, fmsg_n;
  struct iovec fiov[RB];
  double fst[3];
} sock_t;

/* Open sockets by id, per addon instance (napi_set_instance_data: one per Node environment,
 * so worker threads each have their own); each socket's state is its own. */
typedef struct {
  sock_t *socks[MAX_SOCKS];
  int next_id;
} inst_t;

static inst_t *instance(napi_env env) {
  void *d = NULL;
  if (napi_get_instance_data(env, &d) != napi_ok) return NULL;
  return (inst_t *)d;
}

#define CHECK(call)                                              \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error(env, NULL, "mmsg: Node-API call failed"); \
      return NULL;                                               \
    }                                                            \
  } while (0)

static sock_t *find(napi_env env, int id) {
  inst_t *in = instance(env);
  if (in == NULL) return NULL;
  for (int i = 0; i < MAX_SOCKS; i++)
    if (in->socks[i] != NULL && in->socks[i]->id == id && in->socks[i]->open) return in->socks[i];
  return NULL;
}

static void put_words(const struct in6_addr *a, int32_t *w) {
  uint32_t x[4];
  memcpy(x, a->s6_addr, 16);
  for (int i = 0; i < 4; i++) w[i] = (int32_t)ntohl(x[i]);
}

static void get_words(const int32_t *w, struct in6_addr *a) {
  uint32_t x[4];
  for (int i = 0; i < 4; i++) x[i] = htonl((uint32_t)w[i]);
  memcpy(a->s6_addr, x, 16);
}

/* ── Native fan-out tables ─────────────────────────────────────────────── */

/* The lookup key of a source: the words of parseAddr (IPv4: a0 only), scope, port. */
static void key_of(const addr_u *a, uint32_t w[4], uint32_t *scope, uint16_t *port) {
  if (a->sa.sa_family == AF_INET6) {
    put_words(&a->v6.sin6_addr, (int32_t *)w);
    *scope = a->v6.sin6_scope_id;
    *port = ntohs(a->v6.sin6_port);
  } else {
    w[0] = ntohl(a->v4.sin_addr.s_addr);
    w[1] = w[2] = w[3] = 0;
    *scope = 0;
    *port = ntohs(a->v4.sin_port);
  }
}

static uint32_t key_hash(const uint32_t w[4], uint32_t scope, uint16_t port) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < 4; i++) h = (h ^ w[i]) * 16777619u;
  h = (h ^ scope) * 16777619u;
  h = (h ^ port) * 16777619u;
  return h ^ (h >> 15);
}

static fan_src_t *src_find(sock_t *s, const uint32_t w[4], uint32_t scope, uint16_t port) {
  if (s->fsrc_live == 0) return NULL;
  uint32_t mask = s->fsrc_cap - 1;
  for (uint32_t i = key_hash(w, scope, port) & mask;; i = (i + 1) & mask) {
    fan_src_t *e = &s->fsrc[i];
    if (e->state == SRC_EMPTY) return NULL;
    if (e->state == SRC_USED && e->port == port && e->scope == scope && e->w[0] == w[0] && e->w[1] == w[1] &&
        e->w[2] == w[2] && e->w[3] == w[3])
      return e;
  }
}

/* Rehashes into a table of `cap` slots (a power of two); 0 on success. */
static int src_rehash(sock_t *s, uint32_t cap) {
  fan_src_t *t = (fan_src_t *)calloc(cap, sizeof *t);
  if (t == NULL) return -1;
  for (uint32_t i = 0; i < s->fsrc_cap; i++) {
    fan_src_t *e = &s->fsrc[i];
    if (e->state != SRC_USED) continue;
    uint32_t j = key_hash(e->w, e->scope, e->port) & (cap - 1);
    while (t[j].state != SRC_EMPTY) j = (j + 1) & (cap - 1);
    t[j] = *e;
  }
  free(s->fsrc);
  s->fsrc = t;
  s->fsrc_cap = cap;
  s->fsrc_used = s->fsrc_live;
  return 0;
}

static fan_src_t *src_insert(sock_t *s, const uint32_t w[4], uint32_t scope, uint16_t port) {
  fan_src_t *e = src_find(s, w, scope, port);
  if (e != NULL) return e;
  /* Keep used (live + removed) slots at most half the table, so probes stay short and end. */
  if (s->fsrc_cap == 0 || 2 * (s->fsrc_used + 1) > s->fsrc_cap) {
    uint32_t cap = s->fsrc_cap == 0 ? 64 : s->fsrc_cap;
    while (2 * (s->fsrc_live + 1) * 2 > cap) cap *= 2;
    if (src_rehash(s, cap) != 0) return NULL;
  }
  uint32_t mask = s->fsrc_cap - 1;
  uint32_t i = key_hash(w, scope, port) & mask;
  while (s->fsrc[i].state == SRC_USED) i = (i + 1) & mask;
  e = &s->fsrc[i];
  if (e->state == SRC_EMPTY) s->fsrc_used++;
  memset(e, 0, sizeof *e);
  memcpy(e->w, w, sizeof e->w);
  e->scope = scope;
  e->port = port;
  e->state = SRC_USED;
  s->fsrc_live++;
  return e;
}

static void fan_free(sock_t *s) {
  for (int i = 0; i < s->nfsess; i++) free(s->fsess[i].r);
  free(s->fsess);
  free(s->fsrc);
  free(s->fmsg);
  s->fsess = NULL;
  s->fsrc = NULL;
  s->fmsg = NULL;
  s->nfsess = 0;
  s->fsrc_cap = s->fsrc_used = s->fsrc_live = 0;
  s->fmsg_cap = s->fmsg_n = 0;
  s->fctr = NULL;
  s->fctr_len = 0;
  s->ftrace = NULL;
  s->ftrace_len = 0;
}

/* The checks of parseRtpHeader (src/rtp/rtp-header.ts): a datagram failing them goes to JS. */
static int rtp_valid(const unsigned char *p, size_t len) {
  if (len < 12 || p[0] >> 6 != 2) return 0;
  if (p[1] >= 192 && p[1] <= 223) return 0; /* RTCP multiplexed on the RTP port (RFC 5761) */
  size_t pos = 12 + 4 * (size_t)(p[0] & 0x0f);
  if (pos > len) return 0;
  if (p[0] & 0x10) {
    if (pos + 4 > len) return 0;
    pos += 4 + 4 * (size_t)((p[pos + 2] << 8) | p[pos + 3]);
    if (pos > len) return 0;
  }
  if (p[0] & 0x20) {
    size_t pad = p[len - 1];
    if (pad == 0 || pad > len - pos) return 0;
  }
  return 1;
}

enum { TO_JS = 0, NATIVE = 1, NEW_SSRC = 2 };

/* Whether datagram j is fanned out here (NATIVE, *out = its source), goes to JS (TO_JS), or goes
 * to JS because its SSRC is not the one last seen from its source (NEW_SSRC, *out = the source:
 * the caller records the SSRC and hands it to JS alone, so JS learns it). No side effects. */
static int fan_match(sock_t *s, int j, fan_src_t **out) {
  *out = NULL;
  if (s->fsrc_live == 0 || s->fctr == NULL) return TO_JS;
  if (s->msgs[j].msg_hdr.msg_flags & MSG_TRUNC) return TO_JS;
  size_t len = s->msgs[j].msg_len;
  const unsigned char *p = s->arena + (size_t)j * SLOT;
  if (!rtp_valid(p, len)) return TO_JS;
  uint32_t w[4], scope;
  uint16_t port;
  key_of(&s->src[j], w, &scope, &port);
  fan_src_t *e = src_find(s, w, scope, port);
  if (e == NULL || e->sess < 0 || e->sess >= s->nfsess || !s->fsess[e->sess].ok) return TO_JS;
  if ((size_t)e->ep * FCS + FCS > s->fctr_len) return TO_JS;
  uint32_t ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
  *out = e;
  if (!e->ssrc_known || e->ssrc != ssrc) return NEW_SSRC;
  if (e->trace && (s->ftrace == NULL || 1 + ((size_t)s->ftrace[0] + 1) * FTS > s->ftrace_len)) {
    *out = NULL;
    return TO_JS;
  }
  const fan_sess_t *ss = &s->fsess[e->sess];
  for (int k = 0; k < ss->n; k++)
    if ((size_t)ss->r[k].ep * FCS + FCS > s->fctr_len) {
      *out = NULL;
      return TO_JS;
    }
  return NATIVE;
}

/* Queues one copy of datagram j per recipient of e's session but e itself; counts. */
static int fan_queue(sock_t *s, int j, fan_src_t *e, double now_ms) {
  size_t len = s->msgs[j].msg_len;
  const fan_sess_t *ss = &s->fsess[e->sess];
  if (s->fmsg_n + (size_t)ss->n > s->fmsg_cap) {
    size_t cap = s->fmsg_cap == 0 ? 256 : s->fmsg_cap;
    while (cap < s->fmsg_n + (size_t)ss->n) cap *= 2;
    struct mmsghdr *m = (struct mmsghdr *)realloc(s->fmsg, cap * sizeof *m);
    if (m == NULL) return -1;
    s->fmsg = m;
    s->fmsg_cap = cap;
  }
  s->fiov[j].iov_base = s->arena + (size_t)j * SLOT;
  s->fiov[j].iov_len = len;
  const unsigned char *p = s->arena + (size_t)j * SLOT;
  double *in = s->fctr + (size_t)e->ep * FCS;
  in[0] += 1;
  in[1] += (double)len;
  in[4] = now_ms;
  if (e->trace) {
    double *t = s->ftrace + 1 + (size_t)s->ftrace[0] * FTS;
    t[0] = e->ep;
    t[1] = (p[2] << 8) | p[3];
    t[2] = p[1] & 0x7f;
    t[3] = (double)(((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7]);
    t[4] = now_ms;
    s->ftrace[0] += 1;
  }
  s->fst[0]++;
  for (int k = 0; k < ss->n; k++) {
    const fan_rcpt_t *r = &ss->r[k];
    if (r->ep == e->ep) continue;
    struct mmsghdr *m = &s->fmsg[s->fmsg_n++];
    memset(m, 0, sizeof *m);
    m->msg_hdr.msg_name = (void *)&r->a;
    m->msg_hdr.msg_namelen = r->alen;
    m->msg_hdr.msg_iov = &s->fiov[j];
    m->msg_hdr.msg_iovlen = 1;
    double *out = s->fctr + (size_t)r->ep * FCS;
    out[2] += 1;
    out[3] += (double)len;
    s->fst[1]++;
  }
  return 0;
}

/* Sends the queued copies: one sendmmsg per up to SB; a full buffer drops the rest. */
static void fan_flush(sock_t *s) {
  size_t n = s->fmsg_n, off = 0;
  s->fmsg_n = 0;
  while (off < n) {
    unsigned chunk = (unsigned)(n - off < SB ? n - off : SB);
    int r = sendmmsg(s->fd, s->fmsg + off, chunk, 0);
    s->st[4]++;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        s->st[6] += (double)(n - off);
        s->fst[2] += (double)(n - off);
        return;
      }
      s->st[7]++;
      s->fst[2]++;
      off++;
      continue;
    }
    off += (size_t)r;
    s->st[5] += r;
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

/* One JS call for datagrams [start, end) of the batch. Returns where JS stopped: end, or
 * earlier when it changed the fan-out tables while handling a datagram (the rest is decided
 * again against the new tables). */
static int call_js(sock_t *s, napi_value recv, napi_value cb, int start, int end) {
  napi_env env = s->env;
  napi_value args[2], result;
  int32_t next = end;
  napi_create_int32(env, start, &args[0]);
  napi_create_int32(env, end, &args[1]);
  /* make_callback: Node drains microtasks after the outermost call, as for dgram's 'message'. */
  if (napi_make_callback(env, s->actx, recv, cb, 2, args, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc); /* the JS side counts its own errors */
    }
    return end;
  }
  if (napi_get_value_int32(env, result, &next) != napi_ok || next <= start || next > end) next = end;
  return next;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  sock_t *s = (sock_t *)h->data;
  (void)events;
  if (!s->open) return;
  if (status < 0) { /* libuv gives up on this fd (e.g. EBADF): stop rather than spin */
    s->st[3]++;
    uv_poll_stop(h);
    return;
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv;
  napi_get_reference_value(env, s->cb, &cb);
  napi_get_global(env, &recv); /* napi_make_callback needs an object receiver */
  for (int round = 0; round < ROUNDS && s->open; round++) {
    for (int j = 0; j < RB; j++) {
      s->msgs[j].msg_hdr.msg_name = &s->src[j];
      s->msgs[j].msg_hdr.msg_namelen = sizeof s->src[j];
      s->msgs[j].msg_hdr.msg_flags = 0;
      s->iov[j].iov_len = SLOT;
    }
    int n = recvmmsg(s->fd, s->msgs, RB, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) s->st[3]++;
      break;
    }
    if (n == 0) break;
    s->st[0]++;
    s->st[1] += n;
    for (int j = 0; j < n; j++) {
      int32_t *d = s->desc + RXD * j;
      int flags = 0;
      if (s->msgs[j].msg_hdr.msg_flags & MSG_TRUNC) {
        flags |= 2;
        s->st[2]++;
      }
      d[0] = (int32_t)s->msgs[j].msg_len;
      if (s->src[j].sa.sa_family == AF_INET6) {
        flags |= 1;
        d[1] = ntohs(s->src[j].v6.sin6_port);
        d[2] = (int32_t)s->src[j].v6.sin6_scope_id;
        put_words(&s->src[j].v6.sin6_addr, d + 3);
      } else {
        d[1] = ntohs(s->src[j].v4.sin_port);
        d[2] = 0;
        d[3] = (int32_t)ntohl(s->src[j].v4.sin_addr.s_addr);
        d[4] = d[5] = d[6] = 0;
      }
      d[7] = flags;
    }
    /* In arrival order: runs fanned out here alternate with runs for JS (see the top). */
    double t = s->fsrc_live > 0 ? now_ms() : 0;
    int run = -1; /* start of the pending run for JS */
    int j = 0;
    while (s->open) {
      if (j >= n) {
        if (run < 0) {
          fan_flush(s);
          break;
        }
        int next = call_js(s, recv, cb, run, n);
        run = -1;
        j = next; /* < n: JS changed the tables; decide the rest again */
        continue;
      }
      fan_src_t *e;
      int m = fan_match(s, j, &e);
      if (m != TO_JS && run >= 0) {
        /* JS first: what it does with the run may change the tables for datagram j. */
        j = call_js(s, recv, cb, run, j);
        run = -1;
        continue;
      }
      if (m == NATIVE && fan_queue(s, j, e, t) == 0) {
        j++;
        continue;
      }
      fan_flush(s);
      if (m == NEW_SSRC) {
        /* Recorded now, as the JS table does; JS gets this datagram alone and learns the SSRC. */
        const unsigned char *p = s->arena + (size_t)j * SLOT;
        e->ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
        e->ssrc_known = 1;
        call_js(s, recv, cb, j, j + 1);
        j++;
        continue;
      }
      if (run < 0) run = j;
      j++;
    }
    if (n < RB) break;
  }
  napi_close_handle_scope(env, scope);
}

static int resolve_addr(const char *text, int family, int port, addr_u *out, socklen_t *len) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family == 6 ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  if (family == 6) hints.ai_flags |= AI_V4MAPPED;
  char ps[16];
  snprintf(ps, sizeof ps, "%d", port);
  if (getaddrinfo(text, ps, &hints, &res) != 0 || res == NULL) return -1;
  if (res->ai_addrlen > sizeof *out) {
    freeaddrinfo(res);
    return -1;
  }
  memset(out, 0, sizeof *out);
  memcpy(out, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[160];
  const char *code = uv_err_name(uv_translate_sys_error(err));
  snprintf(msg, sizeof msg, "%s %s %s", what, code, strerror(err));
  napi_throw_error(env, code, msg);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open(address, port, family, bufBytes, arena, desc, onBatch)");
    return NULL;
  }
  char text[96];
  size_t tlen;
  CHECK(napi_get_value_string_utf8(env, argv[0], text, sizeof text, &tlen));
  int32_t port, family, buf;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_int32(env, argv[2], &family));
  CHECK(napi_get_value_int32(env, argv[3], &buf));
  void *arena;
  size_t arena_len;
  CHECK(napi_get_buffer_info(env, argv[4], &arena, &arena_len));
  napi_typedarray_type tt;
  size_t dlen, doff;
  void *ddata;
  napi_value dab;
  CHECK(napi_get_typedarray_info(env, argv[5], &tt, &dlen, &ddata, &dab, &doff));
  if (arena_len < (size_t)RB * SLOT || tt != napi_int32_array || dlen < (size_t)RB * RXD || (family != 4 && family != 6) ||
      port < 0 || port > 65535) {
    napi_throw_range_error(env, NULL, "mmsg: bad arguments (arena RB*SLOT bytes, desc RB*RXD int32, family 4|6)");
    return NULL;
  }
  inst_t *in = instance(env);
  if (in == NULL) {
    napi_throw_error(env, NULL, "mmsg: no instance data");
    return NULL;
  }
  int idx = -1;
  for (int i = 0; i < MAX_SOCKS; i++)
    if (in->socks[i] == NULL) {
      idx = i;
      break;
    }
  if (idx < 0) {
    napi_throw_error(env, "EMFILE", "mmsg: too many sockets");
    return NULL;
  }
  addr_u a;
  socklen_t alen;
  if (resolve_addr(text, family, port, &a, &alen) != 0) {
    napi_throw_error(env, "EINVAL", "mmsg: bad bind address");
    return NULL;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  if (buf > 0) {
    /* SO_RCVBUF/SO_SNDBUF are capped at net.core.rmem_max/wmem_max; the *FORCE variants
     * (CAP_NET_ADMIN, e.g. root) are not, so a root reflector gets the size asked for even
     * on a host with the small default caps. Without the capability they fail with EPERM and
     * the capped option applies. The kernel doubles the value for its bookkeeping. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  }
  if (family == 6) {
    int off = 0; /* dual-stack like node:dgram's udp6 without ipv6Only */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  }
  if (bind(fd, &a.sa, alen) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "bind", e);
    return NULL;
  }
  sock_t *s = (sock_t *)calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "mmsg: out of memory");
    return NULL;
  }
  s->fd = fd;
  s->family = family;
  s->env = env;
  s->arena = (unsigned char *)arena;
  s->desc = (int32_t *)ddata;
  for (int j = 0; j < RB; j++) {
    s->iov[j].iov_base = s->arena + (size_t)j * SLOT;
    s->iov[j].iov_len = SLOT;
    s->msgs[j].msg_hdr.msg_iov = &s->iov[j];
    s->msgs[j].msg_hdr.msg_iovlen = 1;
  }
  uv_loop_t *loop;
  napi_value rname;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &s->poll, fd) != 0 ||
      napi_create_string_utf8(env, "ReflectorMmsg", NAPI_AUTO_LENGTH, &rname) != napi_ok ||
      napi_async_init(env, NULL, rname, &s->actx) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "mmsg: poll set-up failed");
    return NULL;
  }
  napi_create_reference(env, argv[6], 1, &s->cb);
  napi_create_reference(env, argv[4], 1, &s->arena_ref);
  napi_create_reference(env, argv[5], 1, &s->desc_ref);
  s->poll.data = s;
  s->id = in->next_id++;
  s->open = 1;
  in->socks[idx] = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  napi_value out;
  CHECK(napi_create_int32(env, s->id, &out));
  return out;
}

static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "sendBatch(id, rxArena, txArena, desc, count)");
    return NULL;
  }
  int32_t id, count;
  CHECK(napi_get_value_int32(env, argv[0], &id));
  void *ar[2];
  size_t al[2];
  CHECK(napi_get_buffer_info(env, argv[1], &ar[0], &al[0]));
  CHECK(napi_get_buffer_info(env, argv[2], &ar[1], &al[1]));
  napi_typedarray_type tt;
  size_t dlen, doff;
  void *ddata;
  napi_value dab;
  CHECK(napi_get_typedarray_info(env, argv[3], &tt, &dlen, &ddata, &dab, &doff));
  CHECK(napi_get_value_int32(env, argv[4], &count));
  if (tt != napi_int32_array || count < 0 || (size_t)count * TXD > dlen) {
    napi_throw_range_error(env, NULL, "mmsg: bad descriptor array");
    return NULL;
  }
  napi_value out;
  sock_t *s = find(env, id);
  if (s == NULL) { /* closed: nothing is sent */
    CHECK(napi_create_int32(env, 0, &out));
    return out;
  }
  const int32_t *d = (const int32_t *)ddata;
  int32_t sent = 0;
  int done = 0;
  int full = 0;
  while (done < count && !full) {
    int ns = 0;
    for (; ns < SB && done + ns < count; ns++) {
      const int32_t *e = d + TXD * (done + ns);
      int which = e[0] == 1 ? 1 : 0;
      size_t off = (size_t)(uint32_t)e[1], len = (size_t)(uint32_t)e[2];
      if (off > al[which] || len > al[which] - off) len = 0; /* never read outside the arena */
      s->siov[ns].iov_base = (unsigned char *)ar[which] + off;
      s->siov[ns].iov_len = len;
      addr_u *a = &s->sdst[ns];
      memset(&s->smsg[ns], 0, sizeof s->smsg[ns]);
      if (s->family == 6) {
        memset(&a->v6, 0, sizeof a->v6);
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_port = htons((uint16_t)e[3]);
        a->v6.sin6_scope_id = (uint32_t)e[4];
        get_words(e + 5, &a->v6.sin6_addr);
        s->smsg[ns].msg_hdr.msg_namelen = sizeof a->v6;
      } else {
        memset(&a->v4, 0, sizeof a->v4);
        a->v4.sin_family = AF_INET;
        a->v4.sin_port = htons((uint16_t)e[3]);
        a->v4.sin_addr.s_addr = htonl((uint32_t)e[5]);
        s->smsg[ns].msg_hdr.msg_namelen = sizeof a->v4;
      }
      s->smsg[ns].msg_hdr.msg_name = a;
      s->smsg[ns].msg_hdr.msg_iov = &s->siov[ns];
      s->smsg[ns].msg_hdr.msg_iovlen = 1;
    }
    int off = 0;
    while (off < ns) {
      int r = sendmmsg(s->fd, s->smsg + off, (unsigned)(ns - off), 0);
      s->st[4]++;
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          s->st[6] += (double)(count - done - off); /* buffer full: the rest of the batch is dropped */
          full = 1;
          break;
        }
        s->st[7]++; /* EPERM, EINVAL, unreachable…: drop this datagram */
        off++;
        continue;
      }
      off += r;
      sent += r;
      s->st[5] += r;
    }
    done += ns;
  }
  CHECK(napi_create_int32(env, sent, &out));
  return out;
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  CHECK(napi_get_value_int32(env, argv[0], &id));
  sock_t *s = find(env, id);
  int port = -1;
  addr_u a;
  socklen_t len = sizeof a;
  if (s != NULL && getsockname(s->fd, &a.sa, &len) == 0)
    port = a.sa.sa_family == AF_INET6 ? ntohs(a.v6.sin6_port) : ntohs(a.v4.sin_port);
  napi_value out;
  CHECK(napi_create_int32(env, port, &out));
  return out;
}

static napi_value js_parse_addr(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char text[96];
  size_t tlen;
  int32_t family;
  napi_value out;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], text, sizeof text, &tlen) != napi_ok || tlen >= sizeof text - 1) {
    CHECK(napi_get_boolean(env, false, &out));
    return out;
  }
  CHECK(napi_get_value_int32(env, argv[1], &family));
  napi_typedarray_type tt;
  size_t dlen, doff;
  void *ddata;
  napi_value dab;
  CHECK(napi_get_typedarray_info(env, argv[2], &tt, &dlen, &ddata, &dab, &doff));
  int32_t *w = (int32_t *)ddata;
  addr_u a;
  socklen_t alen;
  bool ok = tt == napi_int32_array && dlen >= 5 && resolve_addr(text, family, 0, &a, &alen) == 0;
  if (ok) {
    if (a.sa.sa_family == AF_INET6) {
      w[0] = (int32_t)a.v6.sin6_scope_id;
      put_words(&a.v6.sin6_addr, w + 1);
    } else {
      w[0] = 0;
      w[1] = (int32_t)ntohl(a.v4.sin_addr.s_addr);
      w[2] = w[3] = w[4] = 0;
    }
  }
  CHECK(napi_get_boolean(env, ok, &out));
  return out;
}

static napi_value js_addr_text(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t v[6] = {0};
  for (size_t i = 0; i < 6 && i < argc; i++) CHECK(napi_get_value_int32(env, argv[i], &v[i]));
  char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  if (v[0] & 1) {
    struct in6_addr a;
    get_words(v + 2, &a);
    inet_ntop(AF_INET6, &a, text, sizeof text);
    if (v[1] != 0) { /* as node:dgram: fe80::1%eth0 */
      char ifn[IF_NAMESIZE];
      size_t l = strlen(text);
      if (if_indextoname((unsigned)v[1], ifn) != NULL) snprintf(text + l, sizeof text - l, "%%%s", ifn);
      else snprintf(text + l, sizeof text - l, "%%%u", (unsigned)v[1]);
    }
  } else {
    struct in_addr a;
    a.s_addr = htonl((uint32_t)v[2]);
    inet_ntop(AF_INET, &a, text, sizeof text);
  }
  napi_value out;
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* ── Native fan-out: the JS calls ───────────────────────────────────────── */

static int get_i32(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok ? 0 : -1; }

static int get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &tt, len, data, &ab, &off) != napi_ok || tt != want) return -1;
  return 0;
}

/* The socket address of a JS endpoint: port, scope, a0..a3 as parseAddr gives them. */
static void sockaddr_of(const sock_t *s, int32_t port, int32_t scope, const int32_t *w, addr_u *a, socklen_t *len) {
  memset(a, 0, sizeof *a);
  if (s->family == 6) {
    a->v6.sin6_family = AF_INET6;
    a->v6.sin6_port = htons((uint16_t)port);
    a->v6.sin6_scope_id = (uint32_t)scope;
    get_words(w, &a->v6.sin6_addr);
    *len = sizeof a->v6;
  } else {
    a->v4.sin_family = AF_INET;
    a->v4.sin_port = htons((uint16_t)port);
    a->v4.sin_addr.s_addr = htonl((uint32_t)w[0]);
    *len = sizeof a->v4;
  }
}

/* The session entry, created (with no recipients, not nativeOk) when new; NULL when out of range. */
static fan_sess_t *sess_get(sock_t *s, int32_t sess) {
  if (sess < 0 || sess >= FAN_MAX_ID) return NULL;
  if (sess >= s->nfsess) {
    int n = s->nfsess == 0 ? 16 : s->nfsess;
    while (n <= sess) n *= 2;
    fan_sess_t *t = (fan_sess_t *)realloc(s->fsess, (size_t)n * sizeof *t);
    if (t == NULL) return NULL;
    memset(t + s->nfsess, 0, (size_t)(n - s->nfsess) * sizeof *t);
    s->fsess = t;
    s->nfsess = n;
  }
  return &s->fsess[sess];
}

static napi_value ok_value(napi_env env, bool ok) {
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

static napi_value js_fan_session(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id, sess, ok;
  if (argc < 3 || get_i32(env, argv[0], &id) || get_i32(env, argv[1], &sess) || get_i32(env, argv[2], &ok)) return ok_value(env, false);
  sock_t *s = find(env, id);
  fan_sess_t *ss = s == NULL ? NULL : sess_get(s, sess);
  if (ss == NULL) return ok_value(env, false);
  ss->ok = ok != 0;
  return ok_value(env, true);
}

static napi_value js_fan_recipients(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id, sess, count;
  void *data;
  size_t len;
  if (argc < 4 || get_i32(env, argv[0], &id) || get_i32(env, argv[1], &sess) || get_typed(env, argv[2], napi_int32_array, &data, &len) ||
      get_i32(env, argv[3], &count) || count < 0 || (size_t)count * FRD > len)
    return ok_value(env, false);
  sock_t *s = find(env, id);
  fan_sess_t *ss = s == NULL ? NULL : sess_get(s, sess);
  if (ss == NULL) return ok_value(env, false);
  fan_rcpt_t *r = NULL;
  if (count > 0) {
    r = (fan_rcpt_t *)calloc((size_t)count, sizeof *r);
    if (r == NULL) return ok_value(env, false);
  }
  const int32_t *d = (const int32_t *)data;
  for (int k = 0; k < count; k++) {
    const int32_t *e = d + FRD * k;
    if (e[0] < 0 || e[0] >= FAN_MAX_ID || e[1] <= 0 || e[1] > 65535) {
      free(r);
      return ok_value(env, false);
    }
    r[k].ep = e[0];
    sockaddr_of(s, e[1], e[2], e + 3, &r[k].a, &r[k].alen);
  }
  free(ss->r);
  ss->r = r;
  ss->n = count;
  return ok_value(env, true);
}

static int addr_arg(napi_env env, napi_value v, napi_value pv, uint32_t w[4], uint32_t *scope, uint16_t *port) {
  void *data;
  size_t len;
  int32_t p;
  if (get_typed(env, v, napi_int32_array, &data, &len) || len < 5 || get_i32(env, pv, &p) || p < 0 || p > 65535) return -1;
  const int32_t *a = (const int32_t *)data;
  *scope = (uint32_t)a[0];
  for (int i = 0; i < 4; i++) w[i] = (uint32_t)a[1 + i];
  *port = (uint16_t)p;
  return 0;
}

static napi_value js_fan_source(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id, sess, ep, trace;
  uint32_t w[4], scope;
  uint16_t port;
  if (argc < 6 || get_i32(env, argv[0], &id) || addr_arg(env, argv[1], argv[2], w, &scope, &port) || get_i32(env, argv[3], &sess) ||
      get_i32(env, argv[4], &ep) || get_i32(env, argv[5], &trace) || ep < 0 || ep >= FAN_MAX_ID)
    return ok_value(env, false);
  sock_t *s = find(env, id);
  if (s == NULL || sess_get(s, sess) == NULL) return ok_value(env, false);
  fan_src_t *e = src_insert(s, w, scope, port);
  if (e == NULL) return ok_value(env, false);
  if (e->sess != sess || e->ep != ep) e->ssrc_known = 0; /* a new owner: its first datagram goes to JS */
  e->sess = sess;
  e->ep = ep;
  e->trace = trace != 0;
  return ok_value(env, true);
}

static napi_value js_fan_unlatch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  uint32_t w[4], scope;
  uint16_t port;
  if (argc < 3 || get_i32(env, argv[0], &id) || addr_arg(env, argv[1], argv[2], w, &scope, &port)) return ok_value(env, false);
  sock_t *s = find(env, id);
  fan_src_t *e = s == NULL ? NULL : src_find(s, w, scope, port);
  if (e == NULL) return ok_value(env, false);
  e->state = SRC_GONE;
  s->fsrc_live--;
  return ok_value(env, true);
}

/* fanCounters / fanTrace: the JS arrays the addon writes into (kept alive by a reference). */
static napi_value set_array(napi_env env, napi_callback_info info, int trace) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  void *data;
  size_t len;
  if (argc < 2 || get_i32(env, argv[0], &id) || get_typed(env, argv[1], napi_float64_array, &data, &len)) return ok_value(env, false);
  sock_t *s = find(env, id);
  if (s == NULL || (trace && len < 1)) return ok_value(env, false);
  napi_ref *ref = trace ? &s->ftrace_ref : &s->fctr_ref;
  if (*ref != NULL) napi_delete_reference(env, *ref);
  *ref = NULL;
  if (napi_create_reference(env, argv[1], 1, ref) != napi_ok) {
    if (trace) s->ftrace = NULL;
    else s->fctr = NULL;
    return ok_value(env, false);
  }
  if (trace) {
    s->ftrace = (double *)data;
    s->ftrace_len = len;
  } else {
    s->fctr = (double *)data;
    s->fctr_len = len;
  }
  return ok_value(env, true);
}

static napi_value js_fan_counters(napi_env env, napi_callback_info info) { return set_array(env, info, 0); }
static napi_value js_fan_trace(napi_env env, napi_callback_info info) { return set_array(env, info, 1); }

static void on_closed(uv_handle_t *h) { free(h->data); }

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  CHECK(napi_get_value_int32(env, argv[0], &id));
  inst_t *in = instance(env);
  for (int i = 0; in != NULL && i < MAX_SOCKS; i++) {
    sock_t *s = in->socks[i];
    if (s == NULL || s->id != id) continue;
    in->socks[i] = NULL;
    s->open = 0;
    uv_poll_stop(&s->poll); /* off epoll before the fd goes */
    close(s->fd);
    s->fd = -1;
    napi_delete_reference(env, s->cb);
    napi_delete_reference(env, s->arena_ref);
    napi_delete_reference(env, s->desc_ref);
    if (s->fctr_ref != NULL) napi_delete_reference(env, s->fctr_ref);
    if (s->ftrace_ref != NULL) napi_delete_reference(env, s->ftrace_ref);
    fan_free(s);
    napi_async_destroy(env, s->actx);
    uv_close((uv_handle_t *)&s->poll, on_closed);
  }
  return NULL;
}

/* stats(id) (fan 0) or fanStats(id) (fan 1): the socket's counters as an array of numbers. */
static napi_value stats_array(napi_env env, napi_callback_info info, int fan) {
  size_t argc = 1;
  napi_value argv[1], arr, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id = 0;
  if (argc >= 1) CHECK(napi_get_value_int32(env, argv[0], &id));
  sock_t *s = find(env, id);
  double vals[10] = {0};
  uint32_t n = fan ? 3 : 10;
  if (s != NULL && fan) memcpy(vals, s->fst, sizeof s->fst);
  if (s != NULL && !fan) {
    memcpy(vals, s->st, sizeof s->st);
    /* The effective buffer sizes (as getsockopt reports them: twice what was set). */
    int opts[2] = {SO_RCVBUF, SO_SNDBUF};
    for (int i = 0; i < 2; i++) {
      int val = 0;
      socklen_t vl = sizeof val;
      if (getsockopt(s->fd, SOL_SOCKET, opts[i], &val, &vl) == 0) vals[8 + i] = val;
    }
  }
  CHECK(napi_create_array_with_length(env, n, &arr));
  for (uint32_t i = 0; i < n; i++) {
    CHECK(napi_create_double(env, vals[i], &v));
    CHECK(napi_set_element(env, arr, i, v));
  }
  return arr;
}

static napi_value js_stats(napi_env env, napi_callback_info info) { return stats_array(env, info, 0); }
static napi_value js_fan_stats(napi_env env, napi_callback_info info) { return stats_array(env, info, 1); }

static void inst_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data); /* the sockets' environment is going away: their handles close with the loop */
}

static napi_value init(napi_env env, napi_value exports) {
  if (instance(env) == NULL) {
    inst_t *in = (inst_t *)calloc(1, sizeof *in);
    if (in == NULL || napi_set_instance_data(env, in, inst_free, NULL) != napi_ok) {
      free(in);
      napi_throw_error(env, NULL, "mmsg: no memory for instance data");
      return NULL;
    }
    in->next_id = 1;
  }
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"parseAddr", NULL, js_parse_addr, NULL, NULL, NULL, napi_default, NULL},
      {"addrText", NULL, js_addr_text, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"fanSession", NULL, js_fan_session, NULL, NULL, NULL, napi_default, NULL},
      {"fanRecipients", NULL, js_fan_recipients, NULL, NULL, NULL, napi_default, NULL},
      {"fanSource", NULL, js_fan_source, NULL, NULL, NULL, napi_default, NULL},
      {"fanUnlatch", NULL, js_fan_unlatch, NULL, NULL, NULL, napi_default, NULL},
      {"fanCounters", NULL, js_fan_counters, NULL, NULL, NULL, napi_default, NULL},
      {"fanTrace", NULL, js_fan_trace, NULL, NULL, NULL, napi_default, NULL},
      {"fanStats", NULL, js_fan_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  const char *names[] = {"SLOT", "RB", "RXD", "TXD", "FRD", "FCS", "FTS", "SB"};
  int vals[] = {SLOT, RB, RXD, TXD, FRD, FCS, FTS, SB};
  for (int i = 0; i < 8; i++) {
    napi_value v;
    napi_create_int32(env, vals[i], &v);
    napi_set_named_property(env, exports, names[i], v);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
