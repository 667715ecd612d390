#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# mirrorflow target's frame forwarder. Node has no AF_PACKET, so the target pipes decapsulated
# Ethernet frames here: stdin carries records of [u32 big-endian length][frame bytes]; each frame is
# sent as is on the interface named in argv[1] with a raw packet socket (AF_PACKET, SOCK_RAW), the
# kernel path tcpdump/Suricata/Zeek read from. On exit it prints "sent=N failed=M" on stderr.
import os
import socket
import struct
import sys


def main() -> int:
    ifname = sys.argv[1]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((ifname, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
    send = sock.send
    fd = sys.stdin.fileno()
    buf = b''
    sent = 0
    failed = 0
    unpack = struct.unpack_from
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        buf = buf + chunk if buf else chunk
        off = 0
        n = len(buf)
        while n - off >= 4:
            (length,) = unpack('>I', buf, off)
            if n - off - 4 < length:
                break
            try:
                send(buf[off + 4 : off + 4 + length])
                sent += 1
            except OSError:
                # ENOBUFS / ENETDOWN: a frame that could not be queued is a counted drop, not an exit.
                failed += 1
            off += 4 + length
        buf = buf[off:]
    sys.stderr.write('sent=%d failed=%d\n' % (sent, failed))
    return 0


if __name__ == '__main__':
    sys.exit(main())
