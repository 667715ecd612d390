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
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
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

static void record(const struct timespec *ts, const uint8_t *bytes, uint32_t caplen,
                   uint32_t origlen) {
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
  int snaplen = WHOLE, buffer_kib = 4096, opt;
  while ((opt = getopt(argc, argv, "i:s:B:Q:f:")) != -1) {
    if (opt == 'i') ifname = optarg;
    else if (opt == 's') snaplen = atoi(optarg);
    else if (opt == 'B') buffer_kib = atoi(optarg);
    else if (opt == 'Q') dir = optarg;
    else if (opt == 'f') program = optarg;
    else {
      fprintf(stderr, "usage: mf-capture -i IF -s SNAPLEN -B KIB -Q in|out|inout -f PROGRAM\n");
      return 2;
    }
  }
  int want_in = strcmp(dir, "out") != 0, want_out = strcmp(dir, "in") != 0;
  if (ifname == NULL || program == NULL || snaplen <= 0 || snaplen > WHOLE || buffer_kib <= 0) {
    fprintf(stderr, "usage: mf-capture -i IF -s SNAPLEN -B KIB -Q in|out|inout -f PROGRAM\n");
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

  uint32_t gh[6] = {0xa1b23c4d, 2 | (4u << 16), 0, 0, (uint32_t)snaplen, 1};
  out(gh, sizeof(gh));
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
    int flags = MSG_TRUNC | (draining ? MSG_DONTWAIT : MSG_WAITFORONE);
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
      emit(&ts, &vh, f, have, wire, snaplen);
    }
    flush_out();
  }
  flush_out();
  print_stats();
  return 0;
}
