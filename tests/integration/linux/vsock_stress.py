#!/usr/bin/env python3
"""Both ends of vsock_stress.sh: the host side on smolvm's hybrid-vsock Unix
sockets (PATH_PORT), the guest side on AF_VSOCK to the host (CID 2).

  serve-stream SOCK N BYTES VMM_PID   host: N connections, BYTES each way,
                                       read slowly; prints the VMM's RSS
  client-stream PORT N BYTES           guest: N connections in parallel
  serve-stuck SOCK VMM_PID SECONDS     host: write to a guest that never
                                       reads; prints how much was taken
  client-stuck PORT SECONDS            guest: connect, never read
  serve-sink SOCK VMM_PID SECONDS      host: accept, never read
  client-flood PORT SECONDS            guest: write as fast as it can

Each stream is generated from its connection's id, so either end checks
what it received without the other sending a digest.
"""
import hashlib
import os
import random
import socket
import struct
import sys
import threading
import time

CHUNK = 64 << 10


def stream(seed, n):
    """n bytes generated from seed, in chunks."""
    r = random.Random(seed)
    while n > 0:
        k = min(CHUNK, n)
        yield r.randbytes(k)
        n -= k


def digest(seed, n):
    h = hashlib.sha256()
    for c in stream(seed, n):
        h.update(c)
    return h.hexdigest()


def exchange(c, send_seed, recv_seed, nbytes, chunk, pause=0.0, wait=0.0):
    """Sends the stream of send_seed on c from a thread while receiving
    nbytes in reads of at most chunk (after `wait`, `pause` after each);
    raises unless what came is the stream of recv_seed."""
    sender = threading.Thread(
        target=lambda: [c.sendall(x) for x in stream(send_seed, nbytes)], daemon=True)
    sender.start()
    time.sleep(wait)
    h, got = hashlib.sha256(), 0
    while got < nbytes:
        d = c.recv(min(chunk, nbytes - got))
        if not d:
            raise EOFError(f"closed after {got} of {nbytes} bytes")
        h.update(d)
        got += len(d)
        time.sleep(pause)
    sender.join()
    if h.hexdigest() != digest(recv_seed, nbytes):
        raise ValueError(f"stream {recv_seed} arrived changed")


def outside_guest_rss_kib(pid, guest_min_kib=128 << 10):
    """The VMM's resident memory outside guest RAM (mappings of at least
    guest_min_kib are guest RAM), in KiB."""
    total, size, big = 0, 0, False
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if not head:
                continue
            if "-" in head[0] and not head[0].endswith(":"):
                big = False
                continue
            if head[0] == "Size:":
                size = int(head[1])
                big = size >= guest_min_kib
            elif head[0] == "Rss:" and not big:
                total += int(head[1])
    return total


class RssWatch(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.max, self.first, self.stop = pid, 0, None, False

    def run(self):
        while not self.stop:
            try:
                v = outside_guest_rss_kib(self.pid)
            except OSError:
                return
            self.first = v if self.first is None else self.first
            self.max = max(self.max, v)
            time.sleep(0.2)


def listen(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(128)
    return s


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        d = c.recv(n - len(buf))
        if not d:
            raise EOFError(f"connection closed after {len(buf)} of {n} bytes")
        buf += d
    return buf


def serve_stream(path, n, nbytes, pid):
    s = listen(path)
    watch = RssWatch(pid)
    watch.start()
    errors, done = [], []
    lock = threading.Lock()

    def one(c):
        cid = "?"
        try:
            cid = struct.unpack("<I", recv_exact(c, 4))[0]
            # the slow reader: nothing for 2 s (the guest fills smolvm's
            # per-connection buffer and must wait for credit), then small
            # reads, with pauses on every other connection
            exchange(c, cid, cid + 100000, nbytes, 8192, 0.002 if cid % 2 else 0.0, 2.0)
            with lock:
                done.append(cid)
        except Exception as e:  # noqa: BLE001 - every failure is reported
            with lock:
                errors.append(f"connection {cid}: {e}")
        finally:
            c.close()

    threads = []
    s.settimeout(600)
    for _ in range(n):
        c, _ = s.accept()
        t = threading.Thread(target=one, args=(c,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join(600)
    watch.stop = True
    watch.join()
    print(f"host: {len(done)} of {n} connections verified both ways, {nbytes} bytes each way; "
          f"smolvm rss outside guest RAM {watch.first} KiB before, {watch.max} KiB max")
    for e in errors[:5]:
        print(f"host: error: {e}")
    return 0 if len(done) == n and not errors else 1


def client_stream(port, n, nbytes):
    errors = []
    lock = threading.Lock()

    def one(cid):
        try:
            c = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
            c.connect((socket.VMADDR_CID_HOST, port))
            c.sendall(struct.pack("<I", cid))
            exchange(c, cid + 100000, cid, nbytes, 65536)
            c.close()
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append(f"connection {cid}: {e}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in errors[:5]:
        print(f"guest: error: {e}")
    print(f"guest: {n - len(errors)} of {n} connections verified")
    return 1 if errors else 0


def serve_stuck(path, pid, seconds):
    """Writes to a guest that never reads, non-blocking, for `seconds`:
    the host side must be throttled (writes stop being taken), not the
    VMM blocked."""
    s = listen(path)
    s.settimeout(300)
    c, _ = s.accept()
    c.setblocking(False)
    taken, end, block = 0, time.monotonic() + seconds, b"\0" * CHUNK
    last_take = time.monotonic()
    while time.monotonic() < end:
        try:
            taken += c.send(block)
            last_take = time.monotonic()
        except BlockingIOError:
            time.sleep(0.01)
    stalled = time.monotonic() - last_take
    print(f"host: a guest that never reads took {taken} bytes; the last write was taken "
          f"{stalled:.1f} s before the end; smolvm rss outside guest RAM "
          f"{outside_guest_rss_kib(pid)} KiB")
    c.close()
    return 0 if stalled > 1 else 1


def client_stuck(port, seconds):
    c = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    c.connect((socket.VMADDR_CID_HOST, port))
    time.sleep(seconds)
    return 0


def serve_sink(path, pid, seconds):
    """Accepts a guest connection and never reads it; samples the VMM's
    memory while the guest floods it."""
    s = listen(path)
    s.settimeout(300)
    c, _ = s.accept()
    watch = RssWatch(pid)
    watch.start()
    time.sleep(seconds)
    watch.stop = True
    watch.join()
    print(f"host: a guest flooding a connection nobody reads: smolvm rss outside guest RAM "
          f"{watch.first} KiB at the start, {watch.max} KiB max")
    c.close()
    return 0


def client_flood(port, seconds):
    c = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
    c.connect((socket.VMADDR_CID_HOST, port))
    c.settimeout(0.5)
    sent, end, block = 0, time.monotonic() + seconds, b"\1" * CHUNK
    while time.monotonic() < end:
        try:
            sent += c.send(block)
        except socket.timeout:
            pass
        except OSError as e:
            print(f"guest: the flood ended: {e}")
            break
    print(f"guest: the flood got {sent} bytes taken in {seconds} s")
    return 0


def main(argv):
    mode, args = argv[1], argv[2:]
    if mode == "serve-stream":
        return serve_stream(args[0], int(args[1]), int(args[2]), int(args[3]))
    if mode == "client-stream":
        return client_stream(int(args[0]), int(args[1]), int(args[2]))
    if mode == "serve-stuck":
        return serve_stuck(args[0], int(args[1]), float(args[2]))
    if mode == "client-stuck":
        return client_stuck(int(args[0]), float(args[1]))
    if mode == "serve-sink":
        return serve_sink(args[0], int(args[1]), float(args[2]))
    if mode == "client-flood":
        return client_flood(int(args[0]), float(args[1]))
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
