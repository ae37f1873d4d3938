#!/bin/bash
# Micro-benchmarks of sysbox's hot paths (package-benchmark, ordo-one/benchmark): rtnetlink encode and
# decode, config expansion, list of 1000 containers, allocations per exec. Root, on a Debian host; every
# state directory is a temporary one under /tmp, removed afterwards; the exec benchmark starts a busybox
# container without a NIC (no bridge, no dnsmasq), the netlink one builds links in a private namespace.
# Prints wall time and mallocs per operation (p0…p100); exits non-zero when a build or a benchmark fails.
#   Benchmarks/micro.sh                       all of them (about a minute once built)
#   Benchmarks/micro.sh --filter 'netlink.*'  any other options of `swift package benchmark`
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
sysbox_find_swift
sysbox_install_packages
if [ "$(id -u)" -ne 0 ]; then echo "error: run as root (the exec and netlink benchmarks need it)" >&2; exit 1; fi

PKG=Benchmarks/Micro
# The sysbox binary, built from the same checkout: the exec benchmark's setup starts its container with
# `sysbox start` (the monitor is sysbox itself re-executed). Build output only on failure.
build() { swift build --package-path "$PKG" -c release "$@"; }
build --product sysbox >/dev/null 2>&1 || build --product sysbox
build --product sysbox-manager >/dev/null 2>&1 || build --product sysbox-manager
export SYSBOX_BENCH_BIN="$(build --show-bin-path)/sysbox"
export SYSBOX_DATA_DIR="$PWD"

# A plain run writes nothing into the package (baselines would need --allow-writing-to-package-directory).
# The plugin prints its build steps ("[12/34] Compiling …"): left out; errors and the tables stay.
# It exits 0 even when a benchmark's setup or body failed (it only reports them), hence the checks.
out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
swift package --package-path "$PKG" benchmark --no-progress "$@" </dev/null 2>&1 | grep -v '^\[[0-9]*/[0-9]*\]' | tee "$out"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -ne 0 ]; then echo "FAIL: swift package benchmark exited with $status" >&2; exit "$status"; fi
if grep -Eq "^Benchmark .* failed with|setup failed|teardown failed|benchmarks failed|Failed to run|^error:" "$out"; then
    echo "FAIL: a benchmark failed (see above)" >&2
    exit 1
fi
if ! grep -q "Time (wall clock)" "$out"; then echo "FAIL: no benchmark ran" >&2; exit 1; fi
