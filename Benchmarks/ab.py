#!/usr/bin/env python3
"""Two sysbox builds side by side (before/after a change): launch, exec and list, interleaved.

    Benchmarks/ab.py --a BUILD_DIR --b BUILD_DIR [--runs 10] [--containers 100]

BUILD_DIR is a checkout whose release build exists (`swift build -c release --static-swift-stdlib --product sysbox`,
then the same with `--product sysbox-manager`; without `--product` the build fails to link):
its `sysbox` is run with that checkout as SYSBOX_DATA_DIR. Root only. Each build gets its own state
directory and its own network (a bridge named sbab-a/sbab-b); rounds alternate A, B, A, B... so slow
drifts of a shared machine hit both alike, and the order within a round flips each round (A B, B A,
...) so that neither build is always the one that runs right after the other. Everything made is
removed at the end, also after an error.
Prints min / median / max and the interquartile range (p75 - p25) in milliseconds, and the ratio of
the medians (B/A).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def now_ms():
    return time.perf_counter_ns() / 1e6


class Build:
    def __init__(self, label, checkout, network):
        self.label = label
        self.checkout = os.path.abspath(checkout)
        out = subprocess.run(["swift", "build", "-c", "release", "--static-swift-stdlib", "--show-bin-path"],
                             cwd=self.checkout, capture_output=True, text=True, check=True).stdout.strip()
        self.binary = os.path.join(out, "sysbox")
        if not os.access(self.binary, os.X_OK):
            sys.exit(f"{self.binary} is missing: build {self.checkout} in release mode first")
        self.state = tempfile.mkdtemp(prefix=f"sysbox-ab-{label}.")
        self.network = network
        self.env = dict(os.environ, SYSBOX_DIR=self.state, SYSBOX_DATA_DIR=self.checkout)

    def run(self, *args, check=True):
        r = subprocess.run([self.binary, *args], env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.label}: sysbox {' '.join(args)}: {r.stderr.strip()}")
        return r

    def cleanup(self):
        names = self.run("list", "--format", "csv,noheader", check=False).stdout.split("\n")
        names = [line.split(",")[0] for line in names if line]
        if names:
            self.run("delete", "--force", *names, check=False)
        self.run("profile", "device", "remove", "default", "eth0", check=False)
        self.run("network", "delete", self.network, check=False)
        shutil.rmtree(self.state, ignore_errors=True)


def stats(values):
    v = sorted(values)
    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0], v[0], v[0]]
    return v[0], statistics.median(v), v[-1], q[0], q[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--containers", type=int, default=100)
    opts = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root")
    builds = [Build("a", opts.a, "sbab-a"), Build("b", opts.b, "sbab-b")]
    results = {}

    def record(what, build, value):
        results.setdefault(what, {}).setdefault(build.label, []).append(value)

    def order(i):
        # A then B in even rounds, B then A in odd ones: whatever the first (or second) run of a
        # round pays for, both builds pay it equally often.
        return builds if i % 2 == 0 else builds[::-1]

    try:
        for b in builds:
            b.run("network", "create", b.network)
            b.run("profile", "device", "set", "default", "eth0", f"network={b.network}")
            b.run("image", "build", "busybox")
            b.run("launch", "busybox", "warm")
            b.run("exec", "warm", "--", "true")
        for i in range(opts.runs + 1):  # round 0 is a warm-up
            for b in order(i):
                name = f"l{i}"
                t0 = now_ms()
                b.run("launch", "busybox", name)
                while b.run("exec", name, "--", "true", check=False).returncode != 0:
                    time.sleep(0.001)
                if i:
                    record("launch busybox (NIC) until exec works", b, now_ms() - t0)
                b.run("delete", "--force", name)
        for i in range(opts.runs + 1):
            for b in order(i):
                t = []
                for _ in range(20):
                    t0 = now_ms()
                    b.run("exec", "warm", "--", "true")
                    t.append(now_ms() - t0)
                if i:
                    for value in t:
                        record("exec true (fast path)", b, value)
        for count in (1, opts.containers):
            for b in builds:
                have = len(b.run("list", "--format", "csv,noheader").stdout.splitlines())
                for n in range(have, count):
                    b.run("create", "busybox", f"c{n}")
            for i in range(opts.runs + 1):
                for b in order(i):
                    t0 = now_ms()
                    b.run("list")
                    if i:
                        record(f"list with {count} containers", b, now_ms() - t0)
    finally:
        for b in builds:
            b.cleanup()

    print(f"{'operation (ms)':44} {'A min':>7} {'A med':>7} {'A max':>7} {'A IQR':>7}   {'B min':>7} {'B med':>7} {'B max':>7} {'B IQR':>7}   B/A")
    for what, by in results.items():
        a, b = stats(by["a"]), stats(by["b"])
        print(
            f"{what:44} {a[0]:7.2f} {a[1]:7.2f} {a[2]:7.2f} {a[4] - a[3]:7.2f}   {b[0]:7.2f} {b[1]:7.2f} {b[2]:7.2f} {b[4] - b[3]:7.2f}   {b[1] / a[1]:.2f}")
    print(f"A = {builds[0].checkout}, B = {builds[1].checkout}; {opts.runs} rounds (exec: 20 per round)")


if __name__ == "__main__":
    main()
