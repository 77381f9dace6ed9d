/*
 * mmsg.c - batched UDP I/O for the reflector core (Linux recvmmsg/sendmmsg) as
 * a Node-API addon, built by tools/build-native.ts into dist/native/mmsg.node.
 * The core falls back to node:dgram when it is absent (src/reflector/batched-udp.ts).
 *
 * The addon owns a non-blocking UDP socket (IPv4, or IPv6 incl. dual-stack), polls it
 * on Node's libuv loop, and on readiness reads up to RB datagrams per recvmmsg into a
 * caller-owned arena (slot j at j*SLOT bytes), then makes ONE JS call per batch. The JS
 * side queues its sends as descriptors and hands them back with sendBatch (sendmmsg),
 * before it returns, so the arena is never reused while a send still points into it.
 *
 * JS API:
 *   open(address, port, family 4|6, bufBytes, rxArena: Buffer, rxDesc: Int32Array, onBatch(n)) -> id
 *       bufBytes: SO_RCVBUF/SO_SNDBUF, with SO_*BUFFORCE first (uncapped when CAP_NET_ADMIN).
 *       rxDesc[RXD*j ..]: length, source port, scope id, a0, a1, a2, a3, flags
 *       (IPv4: a0 = address in host order; IPv6: a0..a3 = the 4 words, each host order;
 *        flags: 1 = IPv6 source, 2 = truncated (longer than SLOT)).
 *       Throws an Error with .code (EADDRINUSE, …) when the bind fails.
 *   sendBatch(id, rxArena, txArena, desc: Int32Array, count) -> datagrams sent
 *       desc[TXD*k ..]: which (0 rxArena, 1 txArena), offset, length, port, scope, a0..a3, 0
 *       EAGAIN/ENOBUFS (socket buffer full) drops the rest of the batch; other errors drop
 *       that datagram; both counted in stats().
 *   localPort(id) -> bound port
 *   parseAddr(text, family 4|6, out: Int32Array(5)) -> bool   out = scope, a0..a3
 *       (an IPv4 text for an IPv6 socket becomes ::ffff:a.b.c.d)
 *   addrText(flags, scope, a0, a1, a2, a3) -> string  (the text node:dgram would give)
 *   stats(id) -> [rxCalls, rxPackets, rxTruncated, rxErrors, txCalls, txPackets, txDropFull, txErrors,
 *                 rcvbufBytes, sndbufBytes]  (the last two as getsockopt reports them)
 *   close(id)  idempotent: stops the poll, closes the fd, frees on the handle's close callback.
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
#include <unistd.h>
#include <uv.h>

#define RB 64
#define SB 256
#define SLOT 65536 /* any UDP datagram fits; pages are touched only as far as datagrams reach */
#define RXD 8
#define TXD 10
#define MAX_SOCKS 64
#define ROUNDS 16

typedef union {
  struct sockaddr sa;
  struct sockaddr_in v4;
  struct sockaddr_in6 v6;
} addr_u;

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
} sock_t;

static sock_t *socks[MAX_SOCKS];
static int next_id = 1;
static struct mmsghdr smsg[SB];
static struct iovec siov[SB];
static addr_u sdst[SB];

#define CHECK(call)                                              \
  do {                                                           \
    if ((call) != napi_ok) {                                     \
      napi_throw_error(env, NULL, "mmsg: Node-API call failed"); \
      return NULL;                                               \
    }                                                            \
  } while (0)

static sock_t *find(int id) {
  for (int i = 0; i < MAX_SOCKS; i++)
    if (socks[i] != NULL && socks[i]->id == id && socks[i]->open) return socks[i];
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
  napi_value cb, recv, arg, result;
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
    napi_create_int32(env, n, &arg);
    /* make_callback: Node drains microtasks after the outermost call, as for dgram's 'message'. */
    if (napi_make_callback(env, s->actx, recv, cb, 1, &arg, &result) != napi_ok) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value exc;
        napi_get_and_clear_last_exception(env, &exc); /* the JS side counts its own errors */
      }
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
  int idx = -1;
  for (int i = 0; i < MAX_SOCKS; i++)
    if (socks[i] == NULL) {
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
  s->id = next_id++;
  s->open = 1;
  socks[idx] = s;
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
  sock_t *s = find(id);
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
      siov[ns].iov_base = (unsigned char *)ar[which] + off;
      siov[ns].iov_len = len;
      addr_u *a = &sdst[ns];
      memset(&smsg[ns], 0, sizeof smsg[ns]);
      if (s->family == 6) {
        memset(&a->v6, 0, sizeof a->v6);
        a->v6.sin6_family = AF_INET6;
        a->v6.sin6_port = htons((uint16_t)e[3]);
        a->v6.sin6_scope_id = (uint32_t)e[4];
        get_words(e + 5, &a->v6.sin6_addr);
        smsg[ns].msg_hdr.msg_namelen = sizeof a->v6;
      } else {
        memset(&a->v4, 0, sizeof a->v4);
        a->v4.sin_family = AF_INET;
        a->v4.sin_port = htons((uint16_t)e[3]);
        a->v4.sin_addr.s_addr = htonl((uint32_t)e[5]);
        smsg[ns].msg_hdr.msg_namelen = sizeof a->v4;
      }
      smsg[ns].msg_hdr.msg_name = a;
      smsg[ns].msg_hdr.msg_iov = &siov[ns];
      smsg[ns].msg_hdr.msg_iovlen = 1;
    }
    int off = 0;
    while (off < ns) {
      int r = sendmmsg(s->fd, smsg + off, (unsigned)(ns - off), 0);
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
  sock_t *s = find(id);
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

static void on_closed(uv_handle_t *h) { free(h->data); }

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id;
  CHECK(napi_get_value_int32(env, argv[0], &id));
  for (int i = 0; i < MAX_SOCKS; i++) {
    sock_t *s = socks[i];
    if (s == NULL || s->id != id) continue;
    socks[i] = NULL;
    s->open = 0;
    uv_poll_stop(&s->poll); /* off epoll before the fd goes */
    close(s->fd);
    s->fd = -1;
    napi_delete_reference(env, s->cb);
    napi_delete_reference(env, s->arena_ref);
    napi_delete_reference(env, s->desc_ref);
    napi_async_destroy(env, s->actx);
    uv_close((uv_handle_t *)&s->poll, on_closed);
  }
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t id = 0;
  if (argc >= 1) CHECK(napi_get_value_int32(env, argv[0], &id));
  sock_t *s = find(id);
  CHECK(napi_create_array_with_length(env, 10, &arr));
  for (uint32_t i = 0; i < 8; i++) {
    CHECK(napi_create_double(env, s == NULL ? 0 : s->st[i], &v));
    CHECK(napi_set_element(env, arr, i, v));
  }
  /* The effective buffer sizes (as getsockopt reports them: twice what was set). */
  int opts[2] = {SO_RCVBUF, SO_SNDBUF};
  for (uint32_t i = 0; i < 2; i++) {
    int val = 0;
    socklen_t vl = sizeof val;
    if (s == NULL || getsockopt(s->fd, SOL_SOCKET, opts[i], &val, &vl) != 0) val = 0;
    CHECK(napi_create_double(env, val, &v));
    CHECK(napi_set_element(env, arr, 8 + i, v));
  }
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_default, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_default, NULL},
      {"parseAddr", NULL, js_parse_addr, NULL, NULL, NULL, napi_default, NULL},
      {"addrText", NULL, js_addr_text, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  const char *names[] = {"SLOT", "RB", "RXD", "TXD"};
  int vals[] = {SLOT, RB, RXD, TXD};
  for (int i = 0; i < 4; i++) {
    napi_value v;
    napi_create_int32(env, vals[i], &v);
    napi_set_named_property(env, exports, names[i], v);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
