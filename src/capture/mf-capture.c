// SPDX-License-Identifier: Apache-2.0
/*
 * mf-capture: a live capture that writes a pcap stream (nanosecond timestamps, Ethernet) to stdout,
 * like `tcpdump -U -w -`, but counts GSO/GRO/TSO super-frames as the segments that cross the wire.
 *
 * With offloads on, a packet socket receives one super-frame for up to 64 KiB of payload (TSO/GSO on
 * the way out, GRO on the way in). With PACKET_VNET_HDR the kernel puts its virtio-net header in
 * front of each frame: the GSO type and the segment size. This program parses the frame's own
 * headers (Ethernet, up to two VLAN tags, IPv4 or IPv6 with extension headers, TCP or UDP) and writes
 * one record per segment, as the kernel's segmentation would build it: the same headers with the
 * segment's IP total length (IPv6 payload length, UDP length), IPv4 id + i and a fresh header
 * checksum, TCP sequence number + i * gso_size, FIN and PSH on the last segment only, CWR on the
 * first only; the segment's payload bytes (up to the snap length) and its wire length.
 *
 * The filter is a classic BPF program as `tcpdump -ddd` prints it, given as
 * `-f "count,code jt jf k,code jt jf k,..."`, attached before the socket is bound, so that no frame
 * passes unfiltered.
 *
 * Usage: mf-capture -i IFNAME -s SNAPLEN -B BUFFER_KIB -Q in|out|inout -f PROGRAM
 * stderr: "listening on IF, link-type EN10MB (Ethernet), snapshot length N bytes" once capturing;
 * statistics on SIGUSR1 and at exit, in tcpdump's words plus one line of GSO counts:
 *   "N packets captured" / "N packets received by filter" / "N packets dropped by kernel" /
 *   "N gso frames, N segments, N unknown, N unreadable"
 * (unknown: super-frames whose GSO type or headers cannot be split, written as one record;
 * unreadable: frames the kernel could not describe with a virtio-net header and did not hand over).
 * SIGINT/SIGTERM: reads what is queued, prints the statistics and exits 0.
 *
 * Verdict mode (-g GROUP): the interface's security groups and network ACL drop packets through an
 * nftables `log group GROUP` rule (NFLOG). The helper also reads that group over a netlink socket and
 * writes a pcapng stream instead: interface 0 holds the accepted frames, interface 1 the rejected
 * ones (an Ethernet header rebuilt around the dropped IP packet: to the interface's MAC when it came
 * in, from it when it went out; epb_flags say the direction). A packet socket sees an arriving frame
 * BEFORE netfilter decides on it, so every arriving frame waits SETTLE_MS in a queue: the kernel logs
 * a drop in the same softirq that handed the frame to the packet socket, microseconds later, so a
 * frame whose drop has not been read after SETTLE_MS was accepted. A drop that matches a queued
 * frame (same first 64 bytes from the IP header on) removes it, so a dropped packet counts once, as
 * REJECT. Leaving frames are seen after netfilter (only accepted ones): they queue only to keep the
 * order. One more statistics line: "N rejected in, N rejected out, N matched, N lost".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <linux/netlink.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* UDP segmentation offload (older kernel headers lack the name) */
#endif
#define BATCH 64
#define MAX_PROGRAM 4096
#define WHOLE 262144
#define HEADER_READ 512
#define VNET_LEN ((int)sizeof(struct virtio_net_hdr))

static volatile sig_atomic_t stop_flag = 0;
static volatile sig_atomic_t stats_flag = 0;
static unsigned long long n_captured, n_received, n_dropped, n_gso, n_segments, n_unknown,
    n_unreadable;
static int sock_fd = -1;
static int verdict = 0; /* -g: NFLOG drops as REJECT, pcapng out */
static unsigned long long n_rej_in, n_rej_out, n_matched, n_nflog_lost, n_forced;

static void on_stop(int sig) {
  (void)sig;
  stop_flag = 1;
}
static void on_stats(int sig) {
  (void)sig;
  stats_flag = 1;
}

static void die(const char *what) {
  fprintf(stderr, "mf-capture: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void read_kernel_stats(void) {
  struct tpacket_stats st;
  socklen_t len = sizeof(st);
  // The kernel resets these counters on each read: keep the sums.
  if (getsockopt(sock_fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) {
    n_received += st.tp_packets;
    n_dropped += st.tp_drops;
  }
}

static void print_stats(void) {
  read_kernel_stats();
  fprintf(stderr,
          "%llu packets captured\n%llu packets received by filter\n%llu packets dropped by kernel\n"
          "%llu gso frames, %llu segments, %llu unknown, %llu unreadable\n",
          n_captured, n_received, n_dropped, n_gso, n_segments, n_unknown, n_unreadable);
  if (verdict)
    fprintf(stderr, "%llu rejected in, %llu rejected out, %llu matched, %llu lost, %llu forced\n",
            n_rej_in, n_rej_out, n_matched, n_nflog_lost, n_forced);
  fflush(stderr);
}

/* The pcap stream: our own buffer and write(2), so that a signal (SIGUSR1) never cuts a record. */
static uint8_t obuf[1 << 20];
static size_t olen;

static void flush_out(void) {
  size_t done = 0;
  while (done < olen) {
    ssize_t w = write(1, obuf + done, olen - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      fprintf(stderr, "mf-capture: write: %s\n", strerror(errno));
      exit(1);
    }
    done += (size_t)w;
  }
  olen = 0;
}

static void out(const void *p, size_t n) {
  if (olen + n > sizeof(obuf)) flush_out();
  memcpy(obuf + olen, p, n);
  olen += n;
}

/* ---- verdict mode: a FIFO of pcapng blocks, held until settled ---- */
#define SETTLE_NS 20000000ull
#define PEND_MAX 65536
#define PEND_BYTES (32u << 20)
struct pend {
  uint64_t key;   /* of the frame the block belongs to (ingress frames only) */
  uint64_t ready; /* CLOCK_MONOTONIC ns from which the block may be written */
  uint64_t fseq;  /* frame number: the blocks of one frame (its GSO segments) share it */
  uint32_t off, len;
  uint8_t ingress, dropped;
};
static struct pend pq[PEND_MAX];
static uint32_t pq_head, pq_count;
static uint8_t *pbuf;
static uint32_t pb_start, pb_end; /* live bytes of the queue: [pb_start, pb_end) */
/* What the next blocks are: set before each frame is written. */
static uint32_t epb_iface, epb_flags;
static uint64_t cur_key, cur_ready, cur_fseq;
static uint8_t cur_ingress;

static uint64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void emit_head(void) {
  struct pend *e = &pq[pq_head];
  if (!e->dropped) out(pbuf + e->off, e->len);
  pb_start = e->off + e->len;
  pq_head = (pq_head + 1) % PEND_MAX;
  if (--pq_count == 0) pb_start = pb_end = 0;
}

/* Writes every block that is due (all of them when `all`). */
static void emit_ready(int all) {
  uint64_t now = mono_ns();
  while (pq_count > 0 && (all || pq[pq_head].ready <= now)) emit_head();
}

/* Makes room for `n` more bytes and one more entry (writing the oldest entries early if it must). */
static void pend_room(uint32_t n) {
  if (pq_count == PEND_MAX) {
    n_forced++;
    emit_head();
  }
  if (pb_end + n <= PEND_BYTES) return;
  memmove(pbuf, pbuf + pb_start, pb_end - pb_start);
  for (uint32_t k = 0, i = pq_head; k < pq_count; k++, i = (i + 1) % PEND_MAX) pq[i].off -= pb_start;
  pb_end -= pb_start;
  pb_start = 0;
  while (pb_end + n > PEND_BYTES && pq_count > 0) {
    n_forced++;
    emit_head();
  }
}

static void pend_put(const void *p, size_t n) {
  memcpy(pbuf + pb_end, p, n);
  pb_end += (uint32_t)n;
}

/* Queues one pcapng Enhanced Packet Block (interface `epb_iface`, direction `epb_flags`). */
static void epb(const struct timespec *ts, const uint8_t *bytes, uint32_t caplen, uint32_t origlen) {
  uint32_t pad = (4 - (caplen & 3)) & 3;
  uint32_t blen = 28 + caplen + pad + 12 + 4;
  pend_room(blen);
  struct pend *e = &pq[(pq_head + pq_count) % PEND_MAX];
  pq_count++;
  e->key = cur_key;
  e->ready = cur_ready;
  e->fseq = cur_fseq;
  e->ingress = cur_ingress;
  e->dropped = 0;
  e->off = pb_end;
  e->len = blen;
  uint64_t t = (uint64_t)ts->tv_sec * 1000000000ull + (uint64_t)ts->tv_nsec;
  uint32_t h[7] = {6, blen, epb_iface, (uint32_t)(t >> 32), (uint32_t)t, caplen, origlen};
  pend_put(h, sizeof(h));
  pend_put(bytes, caplen);
  static const uint8_t zero[4];
  pend_put(zero, pad);
  uint32_t opt[4] = {2 | (4u << 16), epb_flags, 0, blen};
  pend_put(opt, sizeof(opt));
}

/* Marks the oldest queued arriving frame with `key` as dropped; 1 when there was one. */
static int match_drop(uint64_t key) {
  for (uint32_t k = 0, i = pq_head; k < pq_count; k++, i = (i + 1) % PEND_MAX) {
    struct pend *e = &pq[i];
    if (!e->ingress || e->dropped || e->key != key) continue;
    uint64_t f = e->fseq;
    for (; k < pq_count && pq[i].fseq == f; k++, i = (i + 1) % PEND_MAX) pq[i].dropped = 1;
    return 1;
  }
  return 0;
}

/*
 * Drops read before their frame (the two sockets are read one after the other): kept for up to a
 * second, and matched when the frame is read.
 */
#define EARLY_MAX 4096
static struct {
  uint64_t key, at;
} early[EARLY_MAX];
static int n_early;

static void early_add(uint64_t key) {
  if (n_early == EARLY_MAX) {
    memmove(early, early + 1, sizeof(early[0]) * (EARLY_MAX - 1));
    n_early--;
  }
  early[n_early].key = key;
  early[n_early].at = mono_ns();
  n_early++;
}

/* Whether an early drop has `key` (it is used up). Expired ones go first. */
static int early_take(uint64_t key) {
  uint64_t now = mono_ns();
  int k = 0;
  while (k < n_early && early[k].at + 1000000000ull < now) k++;
  if (k > 0) {
    memmove(early, early + k, sizeof(early[0]) * (size_t)(n_early - k));
    n_early -= k;
  }
  for (int i = 0; i < n_early; i++) {
    if (early[i].key != key) continue;
    memmove(early + i, early + i + 1, sizeof(early[0]) * (size_t)(n_early - i - 1));
    n_early--;
    return 1;
  }
  return 0;
}

/* FNV-1a over the first 64 bytes from the IP header on (what NFLOG hands over too). */
static uint64_t l3_key(const uint8_t *p, int n) {
  uint64_t h = 1469598103934665603ull;
  if (n > 64) n = 64;
  for (int i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static void record(const struct timespec *ts, const uint8_t *bytes, uint32_t caplen,
                   uint32_t origlen) {
  if (verdict) {
    epb(ts, bytes, caplen, origlen);
    return;
  }
  uint32_t h[4] = {(uint32_t)ts->tv_sec, (uint32_t)ts->tv_nsec, caplen, origlen};
  out(h, sizeof(h));
  out(bytes, caplen);
}

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put32(uint8_t *p, uint32_t v) {
  put16(p, (uint16_t)(v >> 16));
  put16(p + 2, (uint16_t)v);
}

static void ipv4_checksum(uint8_t *ip, int ihl) {
  uint32_t sum = 0;
  put16(ip + 10, 0);
  for (int i = 0; i < ihl; i += 2) sum += get16(ip + i);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  put16(ip + 10, (uint16_t)~sum);
}

/* Where the headers of a frame are. */
struct layout {
  int l3;     /* offset of the IP header */
  int v6;     /* 1: IPv6 */
  int l4;     /* offset of the TCP/UDP header */
  int proto;  /* 6 or 17 */
  int hdrlen; /* offset of the payload */
};

/* Parses Ethernet / VLAN / IP / TCP|UDP within the `len` bytes read; 0 on success. */
static int parse(const uint8_t *f, int len, struct layout *o) {
  int off = 12;
  if (len < 14) return -1;
  uint16_t type = get16(f + off);
  off += 2;
  for (int tags = 0; (type == 0x8100 || type == 0x88a8) && tags < 2; tags++) {
    if (len < off + 4) return -1;
    type = get16(f + off + 2);
    off += 4;
  }
  o->l3 = off;
  if (type == 0x0800) {
    if (len < off + 20) return -1;
    int ihl = (f[off] & 0x0f) * 4;
    if ((f[off] >> 4) != 4 || ihl < 20 || len < off + ihl) return -1;
    if ((get16(f + off + 6) & 0x3fff) != 0) return -1; /* a fragment is no GSO super-frame */
    o->v6 = 0;
    o->proto = f[off + 9];
    o->l4 = off + ihl;
  } else if (type == 0x86dd) {
    if (len < off + 40) return -1;
    int nh = f[off + 6];
    int p = off + 40;
    for (int n = 0; n < 8 && (nh == 0 || nh == 43 || nh == 60 || nh == 51); n++) {
      if (len < p + 8) return -1;
      int ext = nh == 51 ? (f[p + 1] + 2) * 4 : (f[p + 1] + 1) * 8;
      nh = f[p];
      p += ext;
    }
    o->v6 = 1;
    o->proto = nh;
    o->l4 = p;
  } else {
    return -1;
  }
  if (o->proto == 6) {
    if (len < o->l4 + 20) return -1;
    int doff = (f[o->l4 + 12] >> 4) * 4;
    if (doff < 20 || len < o->l4 + doff) return -1;
    o->hdrlen = o->l4 + doff;
  } else if (o->proto == 17) {
    if (len < o->l4 + 8) return -1;
    o->hdrlen = o->l4 + 8;
  } else {
    return -1;
  }
  return 0;
}

static uint8_t seg[WHOLE + 64];

/*
 * Writes the frame `f` (`have` bytes read, `wire` bytes long) as one record per segment when the
 * virtio-net header says it is a GSO super-frame, else as one record.
 */
static void emit(const struct timespec *ts, const struct virtio_net_hdr *vh, uint8_t *f, int have,
                 int wire, int snaplen) {
  int gso = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso == VIRTIO_NET_HDR_GSO_NONE) {
    record(ts, f, (uint32_t)(have < snaplen ? have : snaplen), (uint32_t)wire);
    return;
  }
  n_gso++;
  struct layout L;
  int size = vh->gso_size;
  int ok = size > 0 && parse(f, have, &L) == 0;
  if (ok) {
    if (gso == VIRTIO_NET_HDR_GSO_TCPV4) ok = L.proto == 6 && !L.v6;
    else if (gso == VIRTIO_NET_HDR_GSO_TCPV6) ok = L.proto == 6 && L.v6;
    else if (gso == VIRTIO_NET_HDR_GSO_UDP_L4) ok = L.proto == 17;
    else ok = 0;
  }
  int payload = ok ? wire - L.hdrlen : 0;
  if (!ok || payload <= 0) {
    n_unknown++;
    n_segments++;
    record(ts, f, (uint32_t)(have < snaplen ? have : snaplen), (uint32_t)wire);
    return;
  }
  int segs = (payload + size - 1) / size;
  for (int i = 0; i < segs; i++) {
    int plen = payload - i * size < size ? payload - i * size : size;
    int seg_wire = L.hdrlen + plen;
    /* Payload bytes of this segment that were read. */
    int from = L.hdrlen + i * size;
    int avail = have - from;
    if (avail < 0) avail = 0;
    if (avail > plen) avail = plen;
    int cap = L.hdrlen + avail;
    if (cap > snaplen) cap = snaplen;
    memcpy(seg, f, (size_t)L.hdrlen);
    if (cap > L.hdrlen) memcpy(seg + L.hdrlen, f + from, (size_t)(cap - L.hdrlen));
    uint8_t *ip = seg + L.l3;
    if (L.v6) {
      put16(ip + 4, (uint16_t)(seg_wire - L.l3 - 40));
    } else {
      put16(ip + 2, (uint16_t)(seg_wire - L.l3));
      put16(ip + 4, (uint16_t)(get16(ip + 4) + i));
      ipv4_checksum(ip, L.l4 - L.l3);
    }
    uint8_t *l4 = seg + L.l4;
    if (L.proto == 6) {
      put32(l4 + 4, get32(l4 + 4) + (uint32_t)(i * size));
      if (i < segs - 1) l4[13] &= (uint8_t) ~(0x01 | 0x08); /* FIN, PSH: last segment only */
      if (i > 0) l4[13] &= (uint8_t) ~0x80;                 /* CWR: first segment only */
    } else {
      put16(l4 + 4, (uint16_t)(8 + plen));
    }
    record(ts, seg, (uint32_t)cap, (uint32_t)seg_wire);
    n_segments++;
  }
}


/* ---- NFLOG: the packets the interface's rules dropped ---- */
static int nl_fd = -1;
static unsigned our_ifindex;
static uint8_t our_mac[6];
static uint32_t nl_seq;

static void nflog_cfg(int group, int type, const void *data, int len) {
  struct {
    struct nlmsghdr nh;
    struct nfgenmsg g;
    uint8_t attr[64];
  } req;
  memset(&req, 0, sizeof(req));
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct nfgenmsg) + NLA_ALIGN(NLA_HDRLEN + len));
  req.nh.nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  req.nh.nlmsg_seq = ++nl_seq;
  req.g.nfgen_family = AF_UNSPEC;
  req.g.version = NFNETLINK_V0;
  req.g.res_id = htons((uint16_t)group);
  struct nlattr *a = (struct nlattr *)req.attr;
  a->nla_len = (uint16_t)(NLA_HDRLEN + len);
  a->nla_type = (uint16_t)type;
  memcpy(req.attr + NLA_HDRLEN, data, (size_t)len);
  if (send(nl_fd, &req, req.nh.nlmsg_len, 0) < 0) die("NFLOG config send");
  static uint8_t buf[8192];
  for (;;) {
    ssize_t n = recv(nl_fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("NFLOG config ack");
    struct nlmsghdr *nh = (struct nlmsghdr *)buf;
    if (!NLMSG_OK(nh, (unsigned)n) || nh->nlmsg_seq != nl_seq) continue;
    if (nh->nlmsg_type == NLMSG_ERROR) {
      struct nlmsgerr *e = (struct nlmsgerr *)NLMSG_DATA(nh);
      if (e->error != 0) {
        errno = -e->error;
        fprintf(stderr, "mf-capture: NFLOG group %d: %s\n", group, strerror(errno));
        exit(1);
      }
    }
    return;
  }
}

static void nflog_open(int group) {
  nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (nl_fd < 0) die("netlink socket");
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof(sa));
  sa.nl_family = AF_NETLINK;
  if (bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) die("netlink bind");
  int sz = 8 << 20;
  if (setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
    setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
  uint8_t cmd = NFULNL_CFG_CMD_BIND;
  nflog_cfg(group, NFULA_CFG_CMD, &cmd, 1);
  struct nfulnl_msg_config_mode m;
  memset(&m, 0, sizeof(m));
  m.copy_range = htonl(256);
  m.copy_mode = NFULNL_COPY_PACKET;
  nflog_cfg(group, NFULA_CFG_MODE, &m, sizeof(m));
  uint32_t q = htonl(1);
  nflog_cfg(group, NFULA_CFG_QTHRESH, &q, 4);
  uint32_t to = htonl(1);
  nflog_cfg(group, NFULA_CFG_TIMEOUT, &to, 4);
}

/* The IP length of the packet at `p` (`n` bytes read), or n when it cannot be told. */
static int ip_length(const uint8_t *p, int n) {
  if (n >= 20 && (p[0] >> 4) == 4) return get16(p + 2);
  if (n >= 40 && (p[0] >> 4) == 6) return 40 + get16(p + 4);
  return n;
}

static uint8_t rej[14 + 256];

/* One logged (dropped) packet: queued as a REJECT block; an arriving one removes its queued frame. */
static void nflog_packet(const uint8_t *payload, int plen, int ingress, const uint8_t *hwsrc, int snaplen) {
  if (plen <= 0) return;
  int v = payload[0] >> 4;
  if (v != 4 && v != 6) return;
  if (ingress) {
    n_rej_in++;
    uint64_t key = l3_key(payload, plen);
    if (match_drop(key)) n_matched++;
    else early_add(key);
  } else {
    n_rej_out++;
  }
  if (ingress) {
    memcpy(rej, our_mac, 6);
    if (hwsrc != NULL) memcpy(rej + 6, hwsrc, 6);
    else memset(rej + 6, 0, 6);
  } else {
    memset(rej, 0, 6);
    memcpy(rej + 6, our_mac, 6);
  }
  put16(rej + 12, v == 4 ? 0x0800 : 0x86dd);
  int keep = plen < (int)sizeof(rej) - 14 ? plen : (int)sizeof(rej) - 14;
  memcpy(rej + 14, payload, (size_t)keep);
  int cap = 14 + keep < snaplen ? 14 + keep : snaplen;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  epb_iface = 1;
  epb_flags = ingress ? 1 : 2;
  cur_ingress = 0;
  cur_key = 0;
  cur_ready = 0;
  cur_fseq++;
  epb(&ts, rej, (uint32_t)cap, (uint32_t)(14 + ip_length(payload, plen)));
}

static uint8_t nlbuf[1 << 18];

static void nflog_drain(int snaplen) {
  for (;;) {
    ssize_t n = recv(nl_fd, nlbuf, sizeof(nlbuf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOBUFS) {
        n_nflog_lost++; /* the socket overflowed: some drops were not read */
        continue;
      }
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      die("NFLOG recv");
    }
    int len = (int)n;
    for (struct nlmsghdr *nh = (struct nlmsghdr *)nlbuf; NLMSG_OK(nh, (unsigned)len);
         nh = NLMSG_NEXT(nh, len)) {
      if (nh->nlmsg_type != ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)) continue;
      uint8_t *p = (uint8_t *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg));
      uint8_t *end = (uint8_t *)nh + nh->nlmsg_len;
      int hook = -1;
      unsigned indev = 0, outdev = 0;
      const uint8_t *payload = NULL, *hw = NULL;
      int plen = 0;
      while (p + NLA_HDRLEN <= end) {
        struct nlattr *a = (struct nlattr *)p;
        if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
        const uint8_t *d = p + NLA_HDRLEN;
        int dl = a->nla_len - NLA_HDRLEN;
        switch (a->nla_type & NLA_TYPE_MASK) {
        case NFULA_PACKET_HDR:
          if (dl >= 3) hook = d[2];
          break;
        case NFULA_IFINDEX_INDEV:
          if (dl >= 4) indev = get32(d);
          break;
        case NFULA_IFINDEX_OUTDEV:
          if (dl >= 4) outdev = get32(d);
          break;
        case NFULA_HWADDR:
          if (dl >= 10 && get16(d) == 6) hw = d + 4;
          break;
        case NFULA_PAYLOAD:
          payload = d;
          plen = dl;
          break;
        }
        p += NLA_ALIGN(a->nla_len);
      }
      if (payload == NULL) continue;
      if (indev == our_ifindex && hook == 0) nflog_packet(payload, plen, 1, hw, snaplen);
      else if (outdev == our_ifindex && hook == 4) nflog_packet(payload, plen, 0, NULL, snaplen);
    }
  }
}

static void out_pcapng_headers(int snaplen) {
  uint32_t shb[7] = {0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28};
  out(shb, sizeof(shb));
  for (int i = 0; i < 2; i++) {
    /* if_name "accept"/"reject" (8 bytes padded), if_tsresol 9 (nanoseconds), end. */
    uint8_t b[44];
    memset(b, 0, sizeof(b));
    uint32_t w[4] = {1, 44, 1, (uint32_t)snaplen};
    memcpy(b, w, 16);
    uint16_t o1[2] = {2, 6};
    memcpy(b + 16, o1, 4);
    memcpy(b + 20, i == 0 ? "accept" : "reject", 6);
    uint16_t o2[2] = {9, 1};
    memcpy(b + 28, o2, 4);
    b[32] = 9;
    uint32_t tail[2] = {0, 44};
    memcpy(b + 36, tail, 8);
    out(b, 44);
  }
}

static int parse_program(const char *text, struct sock_filter *prog) {
  char *copy = strdup(text);
  if (copy == NULL) return -1;
  char *save = NULL;
  char *tok = strtok_r(copy, ",", &save);
  int count = tok ? atoi(tok) : 0;
  if (count <= 0 || count > MAX_PROGRAM) {
    free(copy);
    return -1;
  }
  for (int i = 0; i < count; i++) {
    tok = strtok_r(NULL, ",", &save);
    unsigned code, jt, jf;
    unsigned long k;
    if (tok == NULL || sscanf(tok, "%u %u %u %lu", &code, &jt, &jf, &k) != 4) {
      free(copy);
      return -1;
    }
    prog[i].code = (uint16_t)code;
    prog[i].jt = (uint8_t)jt;
    prog[i].jf = (uint8_t)jf;
    prog[i].k = (uint32_t)k;
  }
  free(copy);
  return count;
}

int main(int argc, char **argv) {
  const char *ifname = NULL, *program = NULL, *dir = "inout";
  int snaplen = WHOLE, buffer_kib = 4096, opt, group = 0;
  while ((opt = getopt(argc, argv, "i:s:B:Q:f:g:")) != -1) {
    if (opt == 'i') ifname = optarg;
    else if (opt == 's') snaplen = atoi(optarg);
    else if (opt == 'B') buffer_kib = atoi(optarg);
    else if (opt == 'Q') dir = optarg;
    else if (opt == 'f') program = optarg;
    else if (opt == 'g') group = atoi(optarg);
    else {
      fprintf(stderr, "usage: mf-capture -i IF -s SNAPLEN -B KIB -Q in|out|inout -f PROGRAM [-g NFLOG_GROUP]\n");
      return 2;
    }
  }
  int want_in = strcmp(dir, "out") != 0, want_out = strcmp(dir, "in") != 0;
  if (ifname == NULL || program == NULL || snaplen <= 0 || snaplen > WHOLE || buffer_kib <= 0 ||
      group < 0 || group > 65535) {
    fprintf(stderr, "usage: mf-capture -i IF -s SNAPLEN -B KIB -Q in|out|inout -f PROGRAM [-g NFLOG_GROUP]\n");
    return 2;
  }
  static struct sock_filter prog[MAX_PROGRAM];
  int count = parse_program(program, prog);
  if (count < 0) {
    fprintf(stderr, "mf-capture: bad filter program\n");
    return 2;
  }
  unsigned ifindex = if_nametoindex(ifname);
  if (ifindex == 0) die(ifname);
  if (group > 0) {
    verdict = 1;
    our_ifindex = ifindex;
    pbuf = malloc(PEND_BYTES);
    if (pbuf == NULL) die("malloc");
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
    if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR");
    memcpy(our_mac, ifr.ifr_hwaddr.sa_data, 6);
    close(s);
    /* Bound before the packet socket: no drop after "listening on" goes unread. */
    nflog_open(group);
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop; /* no SA_RESTART: a signal ends the blocking read */
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_stats;
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  /* Protocol 0: nothing is received until bind, which comes after the filter. */
  sock_fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (sock_fd < 0) die("socket");
  int one = 1;
  if (setsockopt(sock_fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) die("PACKET_VNET_HDR");
  if (setsockopt(sock_fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0) die("PACKET_AUXDATA");
  if (setsockopt(sock_fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0) die("SO_TIMESTAMPNS");
  int rcvbuf = buffer_kib > (1 << 20) ? (1 << 30) : buffer_kib * 1024;
  if (setsockopt(sock_fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
    setsockopt(sock_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  struct sock_fprog fprog = {.len = (unsigned short)count, .filter = prog};
  if (setsockopt(sock_fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog)) < 0) die("SO_ATTACH_FILTER");
  /* A signal that lands just before a blocking read is seen within 200 ms. */
  struct timeval tv = {0, 200000};
  if (setsockopt(sock_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) die("SO_RCVTIMEO");
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof(sll));
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)ifindex;
  if (bind(sock_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) die("bind");

  if (verdict) {
    out_pcapng_headers(snaplen);
  } else {
    uint32_t gh[6] = {0xa1b23c4d, 2 | (4u << 16), 0, 0, (uint32_t)snaplen, 1};
    out(gh, sizeof(gh));
  }
  flush_out();
  fprintf(stderr, "listening on %s, link-type EN10MB (Ethernet), snapshot length %d bytes\n", ifname,
          snaplen);
  fflush(stderr);

  /* Frames are read whole when the snap length asks for payload, else their first 512 bytes. */
  int readlen = (snaplen > HEADER_READ ? WHOLE : HEADER_READ) + VNET_LEN + 4;
  static struct mmsghdr msgs[BATCH];
  static struct iovec iov[BATCH];
  static struct sockaddr_ll from[BATCH];
  static char ctrl[BATCH][256];
  uint8_t *bufs = malloc((size_t)readlen * BATCH);
  if (bufs == NULL) die("malloc");
  int draining = 0;
  for (;;) {
    if (stats_flag) {
      stats_flag = 0;
      print_stats();
    }
    if (stop_flag && !draining) draining = 1;
    if (verdict) {
      nflog_drain(snaplen);
      emit_ready(0);
      flush_out();
      if (!draining) {
        struct pollfd pf[2] = {{sock_fd, POLLIN, 0}, {nl_fd, POLLIN, 0}};
        poll(pf, 2, pq_count > 0 ? 5 : 200);
        nflog_drain(snaplen);
      }
    }
    for (int i = 0; i < BATCH; i++) {
      /* Four bytes of room after the frame for a VLAN tag put back from the aux data. */
      iov[i].iov_base = bufs + (size_t)i * readlen;
      iov[i].iov_len = (size_t)readlen - 4;
      memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
      msgs[i].msg_hdr.msg_control = ctrl[i];
      msgs[i].msg_hdr.msg_controllen = sizeof(ctrl[i]);
    }
    int flags = MSG_TRUNC | ((draining || verdict) ? MSG_DONTWAIT : MSG_WAITFORONE);
    int n = recvmmsg(sock_fd, msgs, BATCH, flags, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (draining) break; /* everything queued before the stop was read */
        continue;            /* the receive timeout: look at the signal flags again */
      }
      if (errno == EINVAL) {
        /* A frame the kernel could not describe with a virtio-net header (it is consumed). */
        n_unreadable++;
        continue;
      }
      die("recvmmsg");
    }
    for (int i = 0; i < n; i++) {
      struct msghdr *mh = &msgs[i].msg_hdr;
      int total = (int)msgs[i].msg_len; /* virtio-net header + whole frame length (MSG_TRUNC) */
      if (total < VNET_LEN) continue;
      int outgoing = from[i].sll_pkttype == PACKET_OUTGOING;
      if ((outgoing && !want_out) || (!outgoing && !want_in)) continue;
      n_captured++;
      uint8_t *base = (uint8_t *)iov[i].iov_base;
      struct virtio_net_hdr vh;
      memcpy(&vh, base, sizeof(vh));
      uint8_t *f = base + VNET_LEN;
      int wire = total - VNET_LEN;
      int have = wire < readlen - 4 - VNET_LEN ? wire : readlen - 4 - VNET_LEN;
      struct timespec ts = {0, 0};
      struct tpacket_auxdata *aux = NULL;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS)
          memcpy(&ts, CMSG_DATA(c), sizeof(ts));
        else if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA)
          aux = (struct tpacket_auxdata *)CMSG_DATA(c);
      }
      if (ts.tv_sec == 0) clock_gettime(CLOCK_REALTIME, &ts);
      if (aux != NULL && (aux->tp_status & TP_STATUS_VLAN_VALID) && have >= 12) {
        /* The tag was taken off by VLAN offload: put it back, as libpcap does. */
        uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : 0x8100;
        memmove(f + 4, f, (size_t)have);
        memmove(f, f + 4, 12);
        put16(f + 12, tpid);
        put16(f + 14, aux->tp_vlan_tci);
        have += 4;
        wire += 4;
      }
      if (verdict) {
        int l3 = 14;
        uint16_t et = have >= 14 ? get16(f + 12) : 0;
        for (int tags = 0; (et == 0x8100 || et == 0x88a8) && tags < 2 && have >= l3 + 4; tags++) {
          et = get16(f + l3 + 2);
          l3 += 4;
        }
        epb_iface = 0;
        epb_flags = outgoing ? 2 : 1;
        cur_ingress = !outgoing;
        cur_key = (!outgoing && have > l3) ? l3_key(f + l3, have - l3) : 0;
        cur_ready = mono_ns() + (outgoing ? 0 : SETTLE_NS);
        cur_fseq++;
      }
      emit(&ts, &vh, f, have, wire, snaplen);
      if (verdict && cur_ingress && n_early > 0 && early_take(cur_key) && match_drop(cur_key)) n_matched++;
    }
    flush_out();
  }
  if (verdict) {
    /* The last frames read may still have their drop on its way: let it arrive. */
    struct timespec nap = {0, (long)SETTLE_NS};
    nanosleep(&nap, NULL);
    nflog_drain(snaplen);
    emit_ready(1);
  }
  flush_out();
  print_stats();
  return 0;
}
