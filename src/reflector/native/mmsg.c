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
 *   open(address, port, family 4|6, bufBytes, rxArena: Buffer, rxDesc: Int32Array, onBatch(start, end)[, workers]) -> id
 *       bufBytes: SO_RCVBUF/SO_SNDBUF, with SO_*BUFFORCE first (uncapped when CAP_NET_ADMIN).
 *       workers (MEDIA_WORKERS, default 1, at most MAX_WORKERS): > 1 binds workers - 1 more sockets
 *       to the same address and port with SO_REUSEPORT, each read by its own thread (see
 *       "MEDIA_WORKERS" below); a plain bind first proves the port free.
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
 *                 rcvbufBytes, sndbufBytes]  (all threads; the last two as getsockopt reports them)
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
 *   fanStats(id) -> [datagrams fanned out natively, copies queued, copies not sent]  (all threads)
 *   fanMerge(id)  the workers' counters and trace entries into the arrays of fanCounters/fanTrace
 *   laneStats(id) -> datagrams received per thread: [main, worker 1, ...]
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
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
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
#define MAX_WORKERS 64

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

/* One receiving socket with what its loop needs: the main socket (served on Node's loop) and
 * each MEDIA_WORKERS socket (served by its own thread) have one each. */
typedef struct {
  int fd;
  unsigned char *arena; /* RB slots of SLOT bytes */
  addr_u src[RB];
  struct mmsghdr msgs[RB];
  struct iovec iov[RB];
  double st[8];
  /* Per-endpoint counters and the trace ring the fan-out writes: the JS arrays for the main
   * lane; the worker's own arrays for a worker lane (merged into the JS ones by fanMerge). */
  double *ctr;
  size_t ctr_len;
  double *trace;
  size_t trace_len;
  struct mmsghdr *fmsg; /* copies of the current run */
  size_t fmsg_cap, fmsg_n;
  struct iovec fiov[RB];
  double fst[3];
} lane_t;

struct worker;

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
  int32_t *desc;
  lane_t ln;
  /* sendBatch's vector (per socket: no shared state between sockets). */
  struct mmsghdr smsg[SB];
  struct iovec siov[SB];
  addr_u sdst[SB];
  /* Native fan-out tables. */
  fan_sess_t *fsess;
  int nfsess;
  fan_src_t *fsrc; /* open addressing, linear probing; capacity a power of two */
  uint32_t fsrc_cap, fsrc_used, fsrc_live;
  napi_ref fctr_ref;
  napi_ref ftrace_ref;
  /* MEDIA_WORKERS: the extra sockets of this port and their threads (none when 1 worker). The
   * tables above are written only by the main thread, under tlock (write) when workers exist;
   * the workers read them under tlock (read). */
  struct worker **workers;
  int nworkers;
  pthread_rwlock_t tlock;
  uv_async_t async;
  int handles; /* libuv handles still to close before the socket is freed */
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

static fan_src_t *src_find(const sock_t *s, const uint32_t w[4], uint32_t scope, uint16_t port) {
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
  free(s->ln.fmsg);
  s->fsess = NULL;
  s->fsrc = NULL;
  s->ln.fmsg = NULL;
  s->nfsess = 0;
  s->fsrc_cap = s->fsrc_used = s->fsrc_live = 0;
  s->ln.fmsg_cap = s->ln.fmsg_n = 0;
  s->ln.ctr = NULL;
  s->ln.ctr_len = 0;
  s->ln.trace = NULL;
  s->ln.trace_len = 0;
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

static uint32_t ssrc_of(const unsigned char *p) {
  return ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
}

/* The main thread changes the tables under the write lock while workers read them. */
static void tables_lock(sock_t *s) {
  if (s->nworkers > 0) pthread_rwlock_wrlock(&s->tlock);
}

static void tables_unlock(sock_t *s) {
  if (s->nworkers > 0) pthread_rwlock_unlock(&s->tlock);
}

enum { TO_JS = 0, NATIVE = 1, NEW_SSRC = 2 };

/* Whether datagram j is fanned out here (NATIVE, *out = its source), goes to JS (TO_JS), or goes
 * to JS because its SSRC is not the one last seen from its source (NEW_SSRC, *out = the source:
 * the caller records the SSRC and hands it to JS alone, so JS learns it). No side effects. */
static int fan_match(const sock_t *s, const lane_t *l, int j, fan_src_t **out) {
  *out = NULL;
  if (s->fsrc_live == 0 || l->ctr == NULL) return TO_JS;
  if (l->msgs[j].msg_hdr.msg_flags & MSG_TRUNC) return TO_JS;
  size_t len = l->msgs[j].msg_len;
  const unsigned char *p = l->arena + (size_t)j * SLOT;
  if (!rtp_valid(p, len)) return TO_JS;
  uint32_t w[4], scope;
  uint16_t port;
  key_of(&l->src[j], w, &scope, &port);
  fan_src_t *e = src_find(s, w, scope, port);
  if (e == NULL || e->sess < 0 || e->sess >= s->nfsess || !s->fsess[e->sess].ok) return TO_JS;
  if ((size_t)e->ep * FCS + FCS > l->ctr_len) return TO_JS;
  uint32_t ssrc = ssrc_of(p);
  *out = e;
  if (!e->ssrc_known || e->ssrc != ssrc) return NEW_SSRC;
  if (e->trace && (l->trace == NULL || 1 + ((size_t)l->trace[0] + 1) * FTS > l->trace_len)) {
    *out = NULL;
    return TO_JS;
  }
  const fan_sess_t *ss = &s->fsess[e->sess];
  for (int k = 0; k < ss->n; k++)
    if ((size_t)ss->r[k].ep * FCS + FCS > l->ctr_len) {
      *out = NULL;
      return TO_JS;
    }
  return NATIVE;
}

/* Queues one copy of datagram j per recipient of e's session but e itself; counts. */
static int fan_queue(const sock_t *s, lane_t *l, int j, const fan_src_t *e, double now_ms) {
  size_t len = l->msgs[j].msg_len;
  const fan_sess_t *ss = &s->fsess[e->sess];
  if (l->fmsg_n + (size_t)ss->n > l->fmsg_cap) {
    size_t cap = l->fmsg_cap == 0 ? 256 : l->fmsg_cap;
    while (cap < l->fmsg_n + (size_t)ss->n) cap *= 2;
    struct mmsghdr *m = (struct mmsghdr *)realloc(l->fmsg, cap * sizeof *m);
    if (m == NULL) return -1;
    l->fmsg = m;
    l->fmsg_cap = cap;
  }
  l->fiov[j].iov_base = l->arena + (size_t)j * SLOT;
  l->fiov[j].iov_len = len;
  const unsigned char *p = l->arena + (size_t)j * SLOT;
  double *in = l->ctr + (size_t)e->ep * FCS;
  in[0] += 1;
  in[1] += (double)len;
  in[4] = now_ms;
  if (e->trace) {
    double *t = l->trace + 1 + (size_t)l->trace[0] * FTS;
    t[0] = e->ep;
    t[1] = (p[2] << 8) | p[3];
    t[2] = p[1] & 0x7f;
    t[3] = (double)(((uint32_t)p[4] << 24) | ((uint32_t)p[5] << 16) | ((uint32_t)p[6] << 8) | p[7]);
    t[4] = now_ms;
    l->trace[0] += 1;
  }
  l->fst[0]++;
  for (int k = 0; k < ss->n; k++) {
    const fan_rcpt_t *r = &ss->r[k];
    if (r->ep == e->ep) continue;
    struct mmsghdr *m = &l->fmsg[l->fmsg_n++];
    memset(m, 0, sizeof *m);
    m->msg_hdr.msg_name = (void *)&r->a;
    m->msg_hdr.msg_namelen = r->alen;
    m->msg_hdr.msg_iov = &l->fiov[j];
    m->msg_hdr.msg_iovlen = 1;
    double *out = l->ctr + (size_t)r->ep * FCS;
    out[2] += 1;
    out[3] += (double)len;
    l->fst[1]++;
  }
  return 0;
}

/* Sends the queued copies: one sendmmsg per up to SB; a full buffer drops the rest. */
static void fan_flush(lane_t *l) {
  size_t n = l->fmsg_n, off = 0;
  l->fmsg_n = 0;
  while (off < n) {
    unsigned chunk = (unsigned)(n - off < SB ? n - off : SB);
    int r = sendmmsg(l->fd, l->fmsg + off, chunk, 0);
    l->st[4]++;
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        l->st[6] += (double)(n - off);
        l->fst[2] += (double)(n - off);
        return;
      }
      l->st[7]++;
      l->fst[2]++;
      off++;
      continue;
    }
    off += (size_t)r;
    l->st[5] += r;
  }
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

static void lane_init(lane_t *l, int fd, unsigned char *arena) {
  l->fd = fd;
  l->arena = arena;
  for (int j = 0; j < RB; j++) {
    l->iov[j].iov_base = arena + (size_t)j * SLOT;
    l->iov[j].iov_len = SLOT;
    l->msgs[j].msg_hdr.msg_iov = &l->iov[j];
    l->msgs[j].msg_hdr.msg_iovlen = 1;
  }
}

/* Reads up to RB datagrams into the lane; the count, 0 when none, -1 on error (counted). */
static int lane_recv(lane_t *l) {
  for (int j = 0; j < RB; j++) {
    l->msgs[j].msg_hdr.msg_name = &l->src[j];
    l->msgs[j].msg_hdr.msg_namelen = sizeof l->src[j];
    l->msgs[j].msg_hdr.msg_flags = 0;
    l->iov[j].iov_len = SLOT;
  }
  int n = recvmmsg(l->fd, l->msgs, RB, MSG_DONTWAIT, NULL);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
  return n;
}

/* The JS descriptors of datagrams [0, n) of the main lane (see open() at the top). */
static void fill_desc(sock_t *s, int n) {
  for (int j = 0; j < n; j++) {
    int32_t *d = s->desc + RXD * j;
    const addr_u *a = &s->ln.src[j];
    int flags = (s->ln.msgs[j].msg_hdr.msg_flags & MSG_TRUNC) ? 2 : 0;
    d[0] = (int32_t)s->ln.msgs[j].msg_len;
    if (a->sa.sa_family == AF_INET6) {
      flags |= 1;
      d[1] = ntohs(a->v6.sin6_port);
      d[2] = (int32_t)a->v6.sin6_scope_id;
      put_words(&a->v6.sin6_addr, d + 3);
    } else {
      d[1] = ntohs(a->v4.sin_port);
      d[2] = 0;
      d[3] = (int32_t)ntohl(a->v4.sin_addr.s_addr);
      d[4] = d[5] = d[6] = 0;
    }
    d[7] = flags;
  }
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
    s->ln.st[3]++;
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
    int n = lane_recv(&s->ln);
    if (n < 0) s->ln.st[3]++;
    if (n <= 0) break;
    s->ln.st[0]++;
    s->ln.st[1] += n;
    for (int j = 0; j < n; j++)
      if (s->ln.msgs[j].msg_hdr.msg_flags & MSG_TRUNC) s->ln.st[2]++;
    fill_desc(s, n);
    /* In arrival order: runs fanned out here alternate with runs for JS (see the top). */
    double t = s->fsrc_live > 0 ? now_ms() : 0;
    int run = -1; /* start of the pending run for JS */
    int j = 0;
    while (s->open) {
      if (j >= n) {
        if (run < 0) {
          fan_flush(&s->ln);
          break;
        }
        int next = call_js(s, recv, cb, run, n);
        run = -1;
        j = next; /* < n: JS changed the tables; decide the rest again */
        continue;
      }
      fan_src_t *e;
      int m = fan_match(s, &s->ln, j, &e);
      if (m != TO_JS && run >= 0) {
        /* JS first: what it does with the run may change the tables for datagram j. */
        j = call_js(s, recv, cb, run, j);
        run = -1;
        continue;
      }
      if (m == NATIVE && fan_queue(s, &s->ln, j, e, t) == 0) {
        j++;
        continue;
      }
      fan_flush(&s->ln);
      if (m == NEW_SSRC) {
        /* Recorded now, as the JS table does; JS gets this datagram alone and learns the SSRC. */
        tables_lock(s);
        e->ssrc = ssrc_of(s->ln.arena + (size_t)j * SLOT);
        e->ssrc_known = 1;
        tables_unlock(s);
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

/* ── MEDIA_WORKERS ──────────────────────────────────────────────────────── */

/* A worker is a thread with its own SO_REUSEPORT socket bound to the same address and port as
 * the main socket: the kernel spreads the sources over the sockets of the group (one source
 * always to the same socket). It fans out what the tables cover, exactly as the main socket
 * does, and hands the other datagrams of its batch to JS on the main thread (on_async), then
 * waits until JS has handled them before it reads the next batch: so a source's datagrams leave
 * in arrival order, and each batch is decided against the tables as JS left them. Within a
 * batch, a datagram from a source that already has one waiting for JS goes to JS too. */

typedef struct worker {
  sock_t *s;
  lane_t ln;
  int wake[2];
  pthread_t th;
  int started;
  atomic_int stop;
  pthread_mutex_t mu; /* guards ln's counters, trace ring and stats, and the hand-over below */
  pthread_cond_t cv;  /* signalled when JS has handled the hand-over */
  int qj[RB];         /* the hand-over: datagrams of ln for JS, in arrival order */
  uint32_t qssrc[RB]; /* their SSRC when it is new for their latched source (qnew) */
  int qnew[RB];
  int qn;
} worker_t;

static int same_source(const addr_u *a, const addr_u *b) {
  if (a->sa.sa_family != b->sa.sa_family) return 0;
  if (a->sa.sa_family == AF_INET6)
    return a->v6.sin6_port == b->v6.sin6_port && a->v6.sin6_scope_id == b->v6.sin6_scope_id &&
           memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof a->v6.sin6_addr) == 0;
  return a->v4.sin_port == b->v4.sin_port && a->v4.sin_addr.s_addr == b->v4.sin_addr.s_addr;
}

/* Whether datagram j's source already has a datagram in this batch's hand-over. */
static int handed_over(const worker_t *w, int nq, int j) {
  for (int x = 0; x < nq; x++)
    if (same_source(&w->ln.src[w->qj[x]], &w->ln.src[j])) return 1;
  return 0;
}

static void *worker_main(void *arg) {
  worker_t *w = (worker_t *)arg;
  sock_t *s = w->s;
  lane_t *l = &w->ln;
  struct pollfd pf[2];
  pf[0].fd = l->fd;
  pf[0].events = POLLIN;
  pf[1].fd = w->wake[0];
  pf[1].events = POLLIN;
  while (!atomic_load(&w->stop)) {
    pf[0].revents = pf[1].revents = 0;
    if (poll(pf, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pf[1].revents != 0) break;
    for (int round = 0; round < ROUNDS && !atomic_load(&w->stop); round++) {
      int n = lane_recv(l);
      if (n <= 0) {
        if (n < 0) {
          pthread_mutex_lock(&w->mu);
          l->st[3]++;
          pthread_mutex_unlock(&w->mu);
        }
        break;
      }
      int nq = 0;
      pthread_rwlock_rdlock(&s->tlock);
      pthread_mutex_lock(&w->mu);
      l->st[0]++;
      l->st[1] += n;
      double t = s->fsrc_live > 0 ? now_ms() : 0;
      for (int j = 0; j < n; j++) {
        if (l->msgs[j].msg_hdr.msg_flags & MSG_TRUNC) l->st[2]++;
        fan_src_t *e = NULL;
        int m = nq > 0 && handed_over(w, nq, j) ? TO_JS : fan_match(s, l, j, &e);
        if (m == NATIVE && fan_queue(s, l, j, e, t) == 0) continue;
        fan_flush(l); /* what arrived before goes out before JS sees this one */
        w->qj[nq] = j;
        w->qnew[nq] = m == NEW_SSRC;
        w->qssrc[nq] = m == NEW_SSRC ? ssrc_of(l->arena + (size_t)j * SLOT) : 0;
        nq++;
      }
      fan_flush(l);
      w->qn = nq;
      /* A trace ring half full: main merges it (on_async) before the fan-out must stop for it. */
      int merge = l->trace != NULL && l->trace_len > 1 && 2 * (1 + (size_t)l->trace[0] * FTS) > l->trace_len;
      pthread_mutex_unlock(&w->mu);
      pthread_rwlock_unlock(&s->tlock);
      if (nq > 0 || merge) uv_async_send(&s->async);
      if (nq > 0) { /* the lane's arena holds them: wait until JS has handled them */
        pthread_mutex_lock(&w->mu);
        while (w->qn > 0 && !atomic_load(&w->stop)) pthread_cond_wait(&w->cv, &w->mu);
        pthread_mutex_unlock(&w->mu);
      }
      if (n < RB) break;
    }
  }
  return NULL;
}

/* Under w->mu: moves the worker's trace entries into the JS ring, as many as fit; how many. */
static int merge_trace(sock_t *s, worker_t *w) {
  double *src = w->ln.trace, *dst = s->ln.trace;
  if (src == NULL || dst == NULL || src[0] == 0) return 0;
  size_t have = (size_t)src[0], room = (s->ln.trace_len - 1) / FTS - (size_t)dst[0];
  size_t k = have < room ? have : room;
  memcpy(dst + 1 + (size_t)dst[0] * FTS, src + 1, k * FTS * sizeof *src);
  dst[0] += (double)k;
  memmove(src + 1, src + 1 + k * FTS, (have - k) * FTS * sizeof *src);
  src[0] = (double)(have - k);
  return (int)k;
}

/* Under w->mu: adds the worker's counters to the JS array and zeroes them. */
static void merge_counters(sock_t *s, worker_t *w) {
  double *src = w->ln.ctr, *dst = s->ln.ctr;
  if (src == NULL || dst == NULL) return;
  size_t n = w->ln.ctr_len < s->ln.ctr_len ? w->ln.ctr_len : s->ln.ctr_len;
  for (size_t i = 0; i + FCS <= n; i += FCS) {
    if (src[i] == 0 && src[i + 2] == 0) continue;
    for (int k = 0; k < 4; k++) dst[i + k] += src[i + k];
    if (src[i + 4] > dst[i + 4]) dst[i + 4] = src[i + 4];
    memset(src + i, 0, FCS * sizeof *src);
  }
}

/* Main thread: each worker's hand-over goes to JS (in the worker's arrival order), its trace
 * entries into the JS ring first; then the worker may read on. */
static void on_async(uv_async_t *h) {
  sock_t *s = (sock_t *)h->data;
  if (!s->open) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv;
  napi_get_reference_value(env, s->cb, &cb);
  napi_get_global(env, &recv);
  for (int i = 0; i < s->nworkers && s->open; i++) {
    worker_t *w = s->workers[i];
    int newk[RB], nnew = 0;
    uint32_t newssrc[RB];
    pthread_mutex_lock(&w->mu);
    int merged = merge_trace(s, w);
    int k = w->qn;
    for (int x = 0; x < k; x++) {
      int j = w->qj[x];
      uint32_t len = w->ln.msgs[j].msg_len;
      if (len > SLOT) len = SLOT;
      memcpy(s->ln.arena + (size_t)x * SLOT, w->ln.arena + (size_t)j * SLOT, len);
      s->ln.src[x] = w->ln.src[j];
      s->ln.msgs[x].msg_len = len;
      s->ln.msgs[x].msg_hdr.msg_flags = w->ln.msgs[j].msg_hdr.msg_flags & MSG_TRUNC;
      if (w->qnew[x]) {
        newk[nnew] = x;
        newssrc[nnew++] = w->qssrc[x];
      }
    }
    pthread_mutex_unlock(&w->mu);
    if (k == 0 && merged == 0) continue;
    fill_desc(s, k);
    if (nnew > 0) { /* recorded before JS sees them, as on_readable does */
      pthread_rwlock_wrlock(&s->tlock);
      for (int x = 0; x < nnew; x++) {
        uint32_t kw[4], sc;
        uint16_t pt;
        key_of(&s->ln.src[newk[x]], kw, &sc, &pt);
        fan_src_t *e = src_find(s, kw, sc, pt);
        if (e != NULL) {
          e->ssrc = newssrc[x];
          e->ssrc_known = 1;
        }
      }
      pthread_rwlock_unlock(&s->tlock);
    }
    if (k == 0) call_js(s, recv, cb, 0, 0); /* only trace entries: JS replays them now */
    for (int start = 0; start < k && s->open;) start = call_js(s, recv, cb, start, k);
    if (!s->open) break; /* JS closed the socket: its workers are gone (s itself is freed later) */
    if (k > 0) {
      pthread_mutex_lock(&w->mu);
      w->qn = 0;
      pthread_cond_signal(&w->cv);
      pthread_mutex_unlock(&w->mu);
    }
  }
  napi_close_handle_scope(env, scope);
}

static void worker_free(worker_t *w) {
  if (w == NULL) return;
  if (w->started) {
    atomic_store(&w->stop, 1);
    ssize_t r = write(w->wake[1], "x", 1);
    (void)r;
    pthread_mutex_lock(&w->mu); /* a worker waiting for JS stops waiting */
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->th, NULL);
  }
  if (w->ln.fd >= 0) close(w->ln.fd);
  if (w->wake[0] >= 0) close(w->wake[0]);
  if (w->wake[1] >= 0) close(w->wake[1]);
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w->ln.arena);
  free(w->ln.ctr);
  free(w->ln.trace);
  free(w->ln.fmsg);
  free(w);
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

/* A non-blocking UDP socket bound to a: buffers of bufBytes (when > 0), dual-stack for IPv6,
 * SO_REUSEPORT when asked. The fd, or -1 with *err = errno. */
static int open_bound(int family, int buf, const addr_u *a, socklen_t alen, int reuseport, int *err) {
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errno;
    return -1;
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
  int on = 1;
  if ((reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on) != 0) || bind(fd, &a->sa, alen) < 0) {
    *err = errno;
    close(fd);
    return -1;
  }
  return fd;
}

static void on_closed(uv_handle_t *h) {
  sock_t *s = (sock_t *)h->data;
  if (--s->handles == 0) free(s);
}

/* Starts n workers for s, each with its own socket bound to a (SO_REUSEPORT); 0, or an errno. */
static int workers_start(sock_t *s, uv_loop_t *loop, int buf, const addr_u *a, socklen_t alen, int n) {
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
  /* Writers (the main thread changing the tables) must not wait behind a stream of readers. */
  pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  int rc = pthread_rwlock_init(&s->tlock, &ra);
  pthread_rwlockattr_destroy(&ra);
  if (rc != 0) return rc;
  if (uv_async_init(loop, &s->async, on_async) != 0) {
    pthread_rwlock_destroy(&s->tlock);
    return ENOMEM;
  }
  s->async.data = s;
  uv_unref((uv_handle_t *)&s->async); /* the sockets' poll handles keep the loop alive, not this */
  s->handles = 2;
  s->workers = (worker_t **)calloc((size_t)n, sizeof *s->workers);
  if (s->workers == NULL) return ENOMEM;
  for (int i = 0; i < n; i++) {
    worker_t *w = (worker_t *)calloc(1, sizeof *w);
    if (w == NULL) return ENOMEM;
    w->s = s;
    w->ln.fd = w->wake[0] = w->wake[1] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    s->workers[s->nworkers++] = w;
    int err = 0;
    unsigned char *arena = (unsigned char *)malloc((size_t)RB * SLOT); /* pages resident as far as datagrams reach */
    if (arena == NULL) return ENOMEM;
    int fd = open_bound(s->family, buf, a, alen, 1, &err);
    if (fd < 0) {
      free(arena);
      return err;
    }
    lane_init(&w->ln, fd, arena);
    if (pipe2(w->wake, O_CLOEXEC) != 0) return errno;
    if ((rc = pthread_create(&w->th, NULL, worker_main, w)) != 0) return rc;
    w->started = 1;
  }
  return 0;
}

/* Stops and frees the workers (joins their threads: none of them runs afterwards). */
static void workers_stop(sock_t *s) {
  if (s->workers == NULL) return;
  for (int i = 0; i < s->nworkers; i++) worker_free(s->workers[i]);
  free(s->workers);
  s->workers = NULL;
  s->nworkers = 0;
  pthread_rwlock_destroy(&s->tlock);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "open(address, port, family, bufBytes, arena, desc, onBatch[, workers])");
    return NULL;
  }
  char text[96];
  size_t tlen;
  CHECK(napi_get_value_string_utf8(env, argv[0], text, sizeof text, &tlen));
  int32_t port, family, buf;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_int32(env, argv[2], &family));
  CHECK(napi_get_value_int32(env, argv[3], &buf));
  int32_t nthreads = 1;
  if (argc >= 8) CHECK(napi_get_value_int32(env, argv[7], &nthreads));
  void *arena;
  size_t arena_len;
  CHECK(napi_get_buffer_info(env, argv[4], &arena, &arena_len));
  napi_typedarray_type tt;
  size_t dlen, doff;
  void *ddata;
  napi_value dab;
  CHECK(napi_get_typedarray_info(env, argv[5], &tt, &dlen, &ddata, &dab, &doff));
  if (arena_len < (size_t)RB * SLOT || tt != napi_int32_array || dlen < (size_t)RB * RXD || (family != 4 && family != 6) ||
      port < 0 || port > 65535 || nthreads < 1 || nthreads > MAX_WORKERS) {
    napi_throw_range_error(env, NULL, "mmsg: bad arguments (arena RB*SLOT bytes, desc RB*RXD int32, family 4|6, workers 1..64)");
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
  int err = 0;
  if (nthreads > 1) {
    /* SO_REUSEPORT would let another process of the same user share a busy port: a plain bind
     * first proves the port free (and picks it when port is 0), then the group binds to it. */
    int probe = open_bound(family, 0, &a, alen, 0, &err);
    if (probe < 0) {
      throw_errno(env, "bind", err);
      return NULL;
    }
    addr_u got;
    socklen_t glen = sizeof got;
    getsockname(probe, &got.sa, &glen);
    close(probe);
    if (family == 6) a.v6.sin6_port = got.v6.sin6_port;
    else a.v4.sin_port = got.v4.sin_port;
  }
  int fd = open_bound(family, buf, &a, alen, nthreads > 1, &err);
  if (fd < 0) {
    throw_errno(env, "bind", err);
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
  s->desc = (int32_t *)ddata;
  lane_init(&s->ln, fd, (unsigned char *)arena);
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
  s->poll.data = s;
  s->handles = 1;
  if (nthreads > 1 && (err = workers_start(s, loop, buf, &a, alen, nthreads - 1)) != 0) {
    workers_stop(s);
    napi_async_destroy(env, s->actx);
    close(fd);
    s->fd = -1;
    uv_close((uv_handle_t *)&s->poll, on_closed); /* frees s once its handles are closed */
    if (s->handles == 2) uv_close((uv_handle_t *)&s->async, on_closed);
    throw_errno(env, "worker", err);
    return NULL;
  }
  napi_create_reference(env, argv[6], 1, &s->cb);
  napi_create_reference(env, argv[4], 1, &s->arena_ref);
  napi_create_reference(env, argv[5], 1, &s->desc_ref);
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
      s->ln.st[4]++;
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
          s->ln.st[6] += (double)(count - done - off); /* buffer full: the rest of the batch is dropped */
          full = 1;
          break;
        }
        s->ln.st[7]++; /* EPERM, EINVAL, unreachable…: drop this datagram */
        off++;
        continue;
      }
      off += r;
      sent += r;
      s->ln.st[5] += r;
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

static napi_value js_fan_session_impl(napi_env env, napi_callback_info info) {
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

static napi_value js_fan_recipients_impl(napi_env env, napi_callback_info info) {
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

static napi_value js_fan_source_impl(napi_env env, napi_callback_info info) {
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

static napi_value js_fan_unlatch_impl(napi_env env, napi_callback_info info) {
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

/* Under w->mu: the worker's counter array and trace ring sized as the JS ones (contents kept). */
static int worker_arrays(sock_t *s, worker_t *w) {
  if (s->ln.ctr != NULL && w->ln.ctr_len != s->ln.ctr_len) {
    double *c = (double *)calloc(s->ln.ctr_len, sizeof *c);
    if (c == NULL) return -1;
    if (w->ln.ctr != NULL) memcpy(c, w->ln.ctr, (w->ln.ctr_len < s->ln.ctr_len ? w->ln.ctr_len : s->ln.ctr_len) * sizeof *c);
    free(w->ln.ctr);
    w->ln.ctr = c;
    w->ln.ctr_len = s->ln.ctr_len;
  }
  if (s->ln.trace != NULL && w->ln.trace_len != s->ln.trace_len) {
    double *t = (double *)calloc(s->ln.trace_len, sizeof *t);
    if (t == NULL) return -1;
    if (w->ln.trace != NULL) {
      size_t have = (size_t)w->ln.trace[0], cap = (s->ln.trace_len - 1) / FTS;
      if (have > cap) have = cap;
      memcpy(t + 1, w->ln.trace + 1, have * FTS * sizeof *t);
      t[0] = (double)have;
    }
    free(w->ln.trace);
    w->ln.trace = t;
    w->ln.trace_len = s->ln.trace_len;
  }
  return 0;
}

/* Under the tables' write lock: the JS array, and workers' arrays of the same size. */
static bool set_array_locked(napi_env env, sock_t *s, napi_value arr, void *data, size_t len, int trace) {
  napi_ref *ref = trace ? &s->ftrace_ref : &s->fctr_ref;
  if (*ref != NULL) napi_delete_reference(env, *ref);
  *ref = NULL;
  if (napi_create_reference(env, arr, 1, ref) != napi_ok) {
    if (trace) s->ln.trace = NULL;
    else s->ln.ctr = NULL;
    return false;
  }
  if (trace) {
    s->ln.trace = (double *)data;
    s->ln.trace_len = len;
  } else {
    s->ln.ctr = (double *)data;
    s->ln.ctr_len = len;
  }
  bool ok = true;
  for (int i = 0; i < s->nworkers; i++) {
    worker_t *w = s->workers[i];
    pthread_mutex_lock(&w->mu);
    if (worker_arrays(s, w) != 0) ok = false;
    pthread_mutex_unlock(&w->mu);
  }
  return ok;
}

/* Runs a table change under the write lock of the socket named by the first argument. */
static napi_value locked(napi_env env, napi_callback_info info, napi_value (*impl)(napi_env, napi_callback_info)) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t id;
  sock_t *s = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) == napi_ok && argc >= 1 && get_i32(env, argv[0], &id) == 0) s = find(env, id);
  if (s != NULL) tables_lock(s);
  napi_value out = impl(env, info);
  if (s != NULL) tables_unlock(s);
  return out;
}

static napi_value js_fan_session(napi_env env, napi_callback_info info) { return locked(env, info, js_fan_session_impl); }
static napi_value js_fan_recipients(napi_env env, napi_callback_info info) { return locked(env, info, js_fan_recipients_impl); }
static napi_value js_fan_source(napi_env env, napi_callback_info info) { return locked(env, info, js_fan_source_impl); }
static napi_value js_fan_unlatch(napi_env env, napi_callback_info info) { return locked(env, info, js_fan_unlatch_impl); }

/* fanMerge(id): the workers' counters and trace entries into the JS arrays (no-op without workers). */
static napi_value js_fan_merge(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  if (argc < 1 || get_i32(env, argv[0], &id)) return ok_value(env, false);
  sock_t *s = find(env, id);
  if (s == NULL) return ok_value(env, false);
  for (int i = 0; i < s->nworkers; i++) {
    worker_t *w = s->workers[i];
    pthread_mutex_lock(&w->mu);
    merge_counters(s, w);
    merge_trace(s, w);
    pthread_mutex_unlock(&w->mu);
  }
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
  tables_lock(s);
  bool ok = set_array_locked(env, s, argv[1], data, len, trace);
  tables_unlock(s);
  return ok_value(env, ok);
}


static napi_value js_fan_counters(napi_env env, napi_callback_info info) { return set_array(env, info, 0); }
static napi_value js_fan_trace(napi_env env, napi_callback_info info) { return set_array(env, info, 1); }

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
    int async = s->handles == 2;
    workers_stop(s); /* their threads joined: nothing reads the tables any more */
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
    if (async) uv_close((uv_handle_t *)&s->async, on_closed);
  }
  return NULL;
}

/* The socket named by a call's first argument, or NULL. */
static sock_t *sock_arg(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t id = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || get_i32(env, argv[0], &id)) return NULL;
  return find(env, id);
}

/* A JS array of n numbers. */
static napi_value number_array(napi_env env, const double *vals, uint32_t n) {
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, n, &arr));
  for (uint32_t i = 0; i < n; i++) {
    CHECK(napi_create_double(env, vals[i], &v));
    CHECK(napi_set_element(env, arr, i, v));
  }
  return arr;
}

/* stats(id) (fan 0) or fanStats(id) (fan 1): the socket's counters, all threads, as an array of numbers. */
static napi_value stats_array(napi_env env, napi_callback_info info, int fan) {
  sock_t *s = sock_arg(env, info);
  double vals[10] = {0};
  uint32_t n = fan ? 3 : 10;
  if (s != NULL && fan) memcpy(vals, s->ln.fst, sizeof s->ln.fst);
  if (s != NULL && !fan) memcpy(vals, s->ln.st, sizeof s->ln.st);
  for (int i = 0; s != NULL && i < s->nworkers; i++) { /* the workers' lanes add theirs */
    worker_t *w = s->workers[i];
    pthread_mutex_lock(&w->mu);
    if (fan)
      for (int k = 0; k < 3; k++) vals[k] += w->ln.fst[k];
    else
      for (int k = 0; k < 8; k++) vals[k] += w->ln.st[k];
    pthread_mutex_unlock(&w->mu);
  }
  if (s != NULL && !fan) {
    /* The effective buffer sizes (as getsockopt reports them: twice what was set). */
    int opts[2] = {SO_RCVBUF, SO_SNDBUF};
    for (int i = 0; i < 2; i++) {
      int val = 0;
      socklen_t vl = sizeof val;
      if (getsockopt(s->fd, SOL_SOCKET, opts[i], &val, &vl) == 0) vals[8 + i] = val;
    }
  }
  return number_array(env, vals, n);
}

/* laneStats(id) -> datagrams received by each thread of the socket: [main, worker 1, …]. */
static napi_value js_lane_stats(napi_env env, napi_callback_info info) {
  sock_t *s = sock_arg(env, info);
  double rx[1 + MAX_WORKERS];
  uint32_t n = s == NULL ? 0 : 1 + (uint32_t)s->nworkers;
  if (s != NULL) rx[0] = s->ln.st[1];
  for (uint32_t i = 1; i < n; i++) {
    worker_t *w = s->workers[i - 1];
    pthread_mutex_lock(&w->mu);
    rx[i] = w->ln.st[1];
    pthread_mutex_unlock(&w->mu);
  }
  return number_array(env, rx, n);
}

static napi_value js_stats(napi_env env, napi_callback_info info) { return stats_array(env, info, 0); }
static napi_value js_fan_stats(napi_env env, napi_callback_info info) { return stats_array(env, info, 1); }

static void inst_free(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  inst_t *in = (inst_t *)data;
  /* The environment is going away (their handles close with the loop): no worker thread may
   * outlive it and signal a loop that is gone. */
  for (int i = 0; i < MAX_SOCKS; i++)
    if (in->socks[i] != NULL) {
      in->socks[i]->open = 0;
      workers_stop(in->socks[i]);
    }
  free(data);
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
      {"fanMerge", NULL, js_fan_merge, NULL, NULL, NULL, napi_default, NULL},
      {"laneStats", NULL, js_lane_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  const char *names[] = {"SLOT", "RB", "RXD", "TXD", "FRD", "FCS", "FTS", "SB", "MAX_WORKERS"};
  int vals[] = {SLOT, RB, RXD, TXD, FRD, FCS, FTS, SB, MAX_WORKERS};
  for (int i = 0; i < 9; i++) {
    napi_value v;
    napi_create_int32(env, vals[i], &v);
    napi_set_named_property(env, exports, names[i], v);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
