#!/usr/bin/env python3
"""Proxy device throughput (issue 15): a TCP stream through a nat=false proxy device, against a direct
connection on loopback. As root:  Benchmarks/proxy.py --sysbox .build/debug/sysbox [--gib 2] [--runs 3]

The same sender serves both: a Python process sending GIB GiB in 1 MiB writes, in the container's
network namespace (nsenter) for the proxy run and on the host for the direct one; the receiver reads
with 1 MiB recv_into on the host (127.0.0.1). Its own state directory, container and ports; everything
is deleted at the end. Prints MB/s of each run and the ratio of the medians (target: >= 0.8)."""
import argparse, os, random, shutil, socket, statistics, subprocess, sys, tempfile, time

SENDER = r"""
import socket, sys
n = int(sys.argv[1]) << 30
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[2]))); s.listen(8)
buf = memoryview(bytearray(1 << 20))
print("ready", flush=True)
while True:
    c, _ = s.accept()
    left = n
    while left > 0:
        left -= c.send(buf[:min(left, len(buf))])
    c.close()
"""


def receive(port):
    buf = bytearray(1 << 20)
    start = time.perf_counter()
    total = 0
    with socket.create_connection(("127.0.0.1", port)) as c:
        while True:
            n = c.recv_into(buf)
            if n == 0:
                break
            total += n
    return total / (time.perf_counter() - start) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sysbox", required=True)
    ap.add_argument("--gib", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="sysbox-proxy-bench-")
    env = dict(os.environ, SYSBOX_DIR=root + "/state")
    sb = lambda *args: subprocess.run([a.sysbox, *args], env=env, check=True, capture_output=True, text=True).stdout
    host_port = random.randint(41000, 48999)
    direct_port, inner_port = host_port + 1, 9000
    procs = []
    try:
        sb("profile", "device", "remove", "default", "eth0")
        sb("launch", "busybox", "pbench")
        sb("config", "device", "add", "pbench", "bench", "proxy", f"listen=tcp:127.0.0.1:{host_port}", f"connect=tcp:127.0.0.1:{inner_port}")
        sb("restart", "pbench")
        init = open(root + "/state/containers/pbench/init.pid").read().split()[0]
        for cmd in (["nsenter", f"--net=/proc/{init}/ns/net", sys.executable, "-c", SENDER, str(a.gib), str(inner_port)],
                    [sys.executable, "-c", SENDER, str(a.gib), str(direct_port)]):
            p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
            procs.append(p)
        direct, proxied = [], []
        for _ in range(a.runs):
            direct.append(receive(direct_port))
            proxied.append(receive(host_port))
        d, p = statistics.median(direct), statistics.median(proxied)
        print(f"direct loopback: {' '.join(f'{x:.0f}' for x in direct)} MB/s (median {d:.0f})")
        print(f"proxy nat=false: {' '.join(f'{x:.0f}' for x in proxied)} MB/s (median {p:.0f})")
        print(f"ratio: {p / d:.2f}x (target >= 0.8x)")
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run([a.sysbox, "delete", "--force", "pbench"], env=env, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
