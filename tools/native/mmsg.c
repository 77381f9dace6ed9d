/*
 * mmsg.c - EXPERIMENT (not used by src/): batched UDP I/O for Node.js through
 * Linux recvmmsg/sendmmsg, as a Node-API addon. Node 20's dgram makes one
 * syscall and one JS callback per datagram; this receives up to RB datagrams
 * per readiness event into a caller-owned arena and sends a whole fan-out
 * batch with one sendmmsg call per up to SB messages.
 *
 * Built at run time by tools/native/build.ts:
 *   cc -O2 -shared -fPIC -I/usr/include/node -o .tmp/native/mmsg.node tools/native/mmsg.c
 *
 * JS API (all IPv4):
 *   open(address, port, rcvbufBytes, rxArena: Buffer, rxDesc: Int32Array, onBatch: (n) => void) -> fd
 *       binds a non-blocking UDP socket and polls it on Node's libuv loop; on readiness it
 *       reads batches with recvmmsg into rxArena (slot i at i*SLOT bytes) and, per batch,
 *       fills rxDesc[4i..4i+3] = (length, source IPv4 as host-order int32, source port, 0)
 *       and calls onBatch(n) synchronously.
 *   sendBatch(fd, arena: Buffer, desc: Int32Array, count) -> messages sent
 *       desc[4j..4j+3] = (offset in arena, length, destination IPv4 host-order int32, port).
 *       Datagrams the kernel refuses (EAGAIN/ENOBUFS/unreachable) are skipped and counted.
 *   stats() -> [rxCalls, rxPackets, txCalls, txPackets, txDropped]
 *   close(fd)
 *   SLOT, RB: constants.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define RB 64
#define SB 1024
#define SLOT 2048
#define MAX_SOCKS 16

typedef struct {
  int fd;
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;
  napi_ref arena_ref;
  napi_ref desc_ref;
  unsigned char *arena;
  int32_t *desc;
  struct sockaddr_in src[RB];
  struct mmsghdr msgs[RB];
  struct iovec iov[RB];
  int open;
} sock_t;

static sock_t socks[MAX_SOCKS];
static uint64_t rx_calls, rx_pkts, tx_calls, tx_pkts, tx_drop;
static struct mmsghdr smsg[SB];
static struct iovec siov[SB];
static struct sockaddr_in sdst[SB];

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "mmsg: Node-API call failed");     \
      return NULL;                                                   \
    }                                                                \
  } while (0)

static void on_readable(uv_poll_t *h, int status, int events) {
  sock_t *s = (sock_t *)h->data;
  (void)events;
  if (status < 0 || !s->open) return;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, global, arg;
  napi_get_reference_value(env, s->cb, &cb);
  napi_get_global(env, &global);
  for (int round = 0; round < 16 && s->open; round++) {
    for (int j = 0; j < RB; j++) {
      s->msgs[j].msg_hdr.msg_name = &s->src[j];
      s->msgs[j].msg_hdr.msg_namelen = sizeof s->src[j];
    }
    int n = recvmmsg(s->fd, s->msgs, RB, MSG_DONTWAIT, NULL);
    if (n <= 0) break;
    rx_calls++;
    rx_pkts += (uint64_t)n;
    for (int j = 0; j < n; j++) {
      s->desc[4 * j] = (int32_t)s->msgs[j].msg_len;
      s->desc[4 * j + 1] = (int32_t)ntohl(s->src[j].sin_addr.s_addr);
      s->desc[4 * j + 2] = ntohs(s->src[j].sin_port);
      s->desc[4 * j + 3] = 0;
    }
    napi_create_int32(env, n, &arg);
    napi_value result;
    if (napi_call_function(env, global, cb, 1, &arg, &result) != napi_ok) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc); /* the JS side counts its own errors */
    }
    if (n < RB) break;
  }
  napi_close_handle_scope(env, scope);
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) { napi_throw_type_error(env, NULL, "open(address, port, rcvbuf, arena, desc, onBatch)"); return NULL; }
  char addr[64];
  size_t alen;
  CHECK(napi_get_value_string_utf8(env, argv[0], addr, sizeof addr, &alen));
  int32_t port, rcvbuf;
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_int32(env, argv[2], &rcvbuf));
  void *arena;
  size_t arena_len;
  CHECK(napi_get_buffer_info(env, argv[3], &arena, &arena_len));
  napi_typedarray_type tt;
  size_t dlen;
  void *ddata;
  napi_value dab;
  size_t doff;
  CHECK(napi_get_typedarray_info(env, argv[4], &tt, &dlen, &ddata, &dab, &doff));
  if (arena_len < RB * SLOT || tt != napi_int32_array || dlen < RB * 4) {
    napi_throw_range_error(env, NULL, "mmsg: arena must hold RB*SLOT bytes, desc RB*4 int32");
    return NULL;
  }
  int idx = -1;
  for (int i = 0; i < MAX_SOCKS; i++) if (!socks[i].open) { idx = i; break; }
  if (idx < 0) { napi_throw_error(env, NULL, "mmsg: too many sockets"); return NULL; }
  sock_t *s = &socks[idx];
  memset(s, 0, sizeof *s);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) { napi_throw_error(env, NULL, "mmsg: bad IPv4 address"); return NULL; }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { napi_throw_error(env, NULL, "mmsg: socket failed"); return NULL; }
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int sz = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  s->fd = fd;
  s->env = env;
  s->arena = (unsigned char *)arena;
  s->desc = (int32_t *)ddata;
  for (int j = 0; j < RB; j++) {
    s->iov[j].iov_base = s->arena + (size_t)j * SLOT;
    s->iov[j].iov_len = SLOT;
    s->msgs[j].msg_hdr.msg_iov = &s->iov[j];
    s->msgs[j].msg_hdr.msg_iovlen = 1;
  }
  CHECK(napi_create_reference(env, argv[5], 1, &s->cb));
  CHECK(napi_create_reference(env, argv[3], 1, &s->arena_ref));
  CHECK(napi_create_reference(env, argv[4], 1, &s->desc_ref));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &s->poll, fd) != 0) { close(fd); napi_throw_error(env, NULL, "mmsg: uv_poll_init failed"); return NULL; }
  s->poll.data = s;
  uv_poll_start(&s->poll, UV_READABLE, on_readable);
  s->open = 1;
  napi_value out;
  CHECK(napi_create_int32(env, fd, &out));
  return out;
}

static sock_t *find(int fd) {
  for (int i = 0; i < MAX_SOCKS; i++) if (socks[i].open && socks[i].fd == fd) return &socks[i];
  return NULL;
}

static napi_value js_send_batch(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, count;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  void *arena;
  size_t arena_len;
  CHECK(napi_get_buffer_info(env, argv[1], &arena, &arena_len));
  napi_typedarray_type tt;
  size_t dlen;
  void *ddata;
  napi_value dab;
  size_t doff;
  CHECK(napi_get_typedarray_info(env, argv[2], &tt, &dlen, &ddata, &dab, &doff));
  CHECK(napi_get_value_int32(env, argv[3], &count));
  if (tt != napi_int32_array || count < 0 || (size_t)count * 4 > dlen) {
    napi_throw_range_error(env, NULL, "mmsg: bad descriptor array");
    return NULL;
  }
  const int32_t *d = (const int32_t *)ddata;
  int32_t sent = 0;
  int done = 0;
  while (done < count) {
    int ns = 0;
    for (; ns < SB && done + ns < count; ns++) {
      const int32_t *e = d + 4 * (done + ns);
      size_t off = (size_t)(uint32_t)e[0], len = (size_t)(uint32_t)e[1];
      if (off > arena_len || len > arena_len - off) len = 0; /* never read outside the arena */
      siov[ns].iov_base = (unsigned char *)arena + off;
      siov[ns].iov_len = len;
      sdst[ns].sin_family = AF_INET;
      sdst[ns].sin_addr.s_addr = htonl((uint32_t)e[2]);
      sdst[ns].sin_port = htons((uint16_t)e[3]);
      memset(&smsg[ns], 0, sizeof smsg[ns]);
      smsg[ns].msg_hdr.msg_name = &sdst[ns];
      smsg[ns].msg_hdr.msg_namelen = sizeof sdst[ns];
      smsg[ns].msg_hdr.msg_iov = &siov[ns];
      smsg[ns].msg_hdr.msg_iovlen = 1;
    }
    int off = 0;
    while (off < ns) {
      int r = sendmmsg(fd, smsg + off, (unsigned)(ns - off), 0);
      tx_calls++;
      if (r < 0) {
        if (errno == EINTR) continue;
        tx_drop++; /* EAGAIN, ENOBUFS, ECONNREFUSED...: skip this datagram */
        off++;
        continue;
      }
      off += r;
      sent += r;
      tx_pkts += (uint64_t)r;
    }
    done += ns;
  }
  napi_value out;
  CHECK(napi_create_int32(env, sent, &out));
  return out;
}

static void on_closed(uv_handle_t *h) { (void)h; }

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  sock_t *s = find(fd);
  if (s) {
    s->open = 0;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_closed);
    close(s->fd);
    napi_delete_reference(env, s->cb);
    napi_delete_reference(env, s->arena_ref);
    napi_delete_reference(env, s->desc_ref);
  }
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, 5, &arr));
  double vals[5] = {(double)rx_calls, (double)rx_pkts, (double)tx_calls, (double)tx_pkts, (double)tx_drop};
  for (uint32_t i = 0; i < 5; i++) {
    CHECK(napi_create_double(env, vals[i], &v));
    CHECK(napi_set_element(env, arr, i, v));
  }
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendBatch", NULL, js_send_batch, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 4, props);
  napi_value v;
  napi_create_int32(env, SLOT, &v);
  napi_set_named_property(env, exports, "SLOT", v);
  napi_create_int32(env, RB, &v);
  napi_set_named_property(env, exports, "RB", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
