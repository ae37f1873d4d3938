#!/bin/bash
# Launch, NIC attach, ping-ready, Debian boot and stop figures for sysbox alone (the comparison with
# LXC and nspawn is the Benchmarks issue). Root, on a Debian host; uses a state directory and a network
# of its own and removes them. Prints min / median / max in milliseconds.
#   Benchmarks/launch.sh [RUNS]      (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-15}
. scripts/setup.sh
sysbox_find_swift
sysbox_install_packages
# The executables by name (a build of every product fails to link from a fresh clone, see Benchmarks/run).
for product in sysbox sysbox-manager; do
    swift build -c release --static-swift-stdlib --product "$product" >/dev/null 2>&1 ||
        swift build -c release --static-swift-stdlib --product "$product"
done
BIN=$(swift build -c release --static-swift-stdlib --show-bin-path)/sysbox
export SYSBOX_DIR=$(mktemp -d /tmp/sysbox-bench.XXXXXX)
export SYSBOX_DATA_DIR=$PWD
NET=sbbench$$
NET=${NET:0:15}
cleanup() {
    "$BIN" list --format csv,noheader 2>/dev/null | cut -d, -f1 | xargs -r "$BIN" delete --force >/dev/null 2>&1 || true
    "$BIN" profile device remove default eth0 >/dev/null 2>&1 || true
    "$BIN" network delete "$NET" >/dev/null 2>&1 || true
    rm -rf "$SYSBOX_DIR"
}
trap cleanup EXIT

ms() { date +%s%N; }
stats() {  # name, then values in ms (one per line on stdin)
    sort -n | awk -v name="$1" '{ v[NR] = $1 } END { printf "%-44s %8.1f %8.1f %8.1f  (n=%d)\n", name, v[1], v[int((NR + 1) / 2)], v[NR], NR }'
}

"$BIN" network create "$NET" >/dev/null
GW=$("$BIN" network get "$NET" ipv4.address | cut -d/ -f1)
"$BIN" profile create nonic >/dev/null
"$BIN" profile device add nonic root disk path=/ >/dev/null
"$BIN" image build busybox >/dev/null 2>&1
"$BIN" profile device set default eth0 network="$NET"
printf "%-44s %8s %8s %8s\n" "operation (ms)" "min" "median" "max"

for kind in nic nonic; do
    profile=()
    [ "$kind" = nonic ] && profile=(-p nonic)
    for i in $(seq "$RUNS"); do
        t0=$(ms); "$BIN" launch busybox "b$i" "${profile[@]}" >/dev/null; t1=$(ms)
        echo $(( (t1 - t0) / 1000 ))
    done | awk '{ print $1 / 1000 }' | stats "launch busybox ($kind)"
    "$BIN" list --format csv,noheader | cut -d, -f1 | xargs -r "$BIN" delete --force >/dev/null
done

# Launch until the container answers a ping of its gateway (from inside).
for i in $(seq "$RUNS"); do
    t0=$(ms); "$BIN" launch busybox "p$i" >/dev/null
    until "$BIN" exec "p$i" -- ping -c 1 -W 1 "$GW" >/dev/null 2>&1; do :; done
    t1=$(ms); echo $(( (t1 - t0) / 1000 ))
done | awk '{ print $1 / 1000 }' | stats "launch busybox until it pings its gateway"

# NIC attach inside the monitor (netlink calls only: veth with its peer in the container's netns,
# then lo, eth0, address and route from a thread in that netns), from the monitor's debug log.
"$BIN" list --format csv,noheader | cut -d, -f1 | xargs -r "$BIN" delete --force >/dev/null
for i in $(seq "$RUNS"); do
    SYSBOX_LOG=debug "$BIN" launch busybox "a$i" >/dev/null 2>&1
    awk '/\] cloned/ { match($0, /ms=[0-9.]+/); a = substr($0, RSTART + 3, RLENGTH - 3) }
         /NICs attached/ { match($0, /ms=[0-9.]+/); print substr($0, RSTART + 3, RLENGTH - 3) - a }' "$SYSBOX_DIR/containers/a$i/monitor.log" | tail -1
done | stats "attach one NIC (monitor, netlink only)"
"$BIN" list --format csv,noheader | cut -d, -f1 | xargs -r "$BIN" delete --force >/dev/null

# Debian with systemd: launch --wait (cached image), clean stop, memory once booted.
if [ "${SKIP_DEBIAN:-}" != 1 ]; then
    t0=$(ms); "$BIN" image build debian >/dev/null 2>&1; t1=$(ms)
    echo "$(( (t1 - t0) / 1000000 ))" | stats "image build debian (debootstrap)"
    DRUNS=$(( RUNS < 5 ? RUNS : 5 ))
    for i in $(seq "$DRUNS"); do
        t0=$(ms); "$BIN" launch debian "d$i" --wait >/dev/null; t1=$(ms); echo $(( (t1 - t0) / 1000 ))
    done | awk '{ print $1 / 1000 }' | stats "launch debian --wait (systemd running)"
    sleep 2
    for i in $(seq "$DRUNS"); do
        "$BIN" info "d$i" | awk '/Memory usage/ { sub("MiB", "", $3); print $3 }'
    done | stats "memory of an idle Debian container (MiB)"
    for i in $(seq "$DRUNS"); do
        t0=$(ms); "$BIN" stop "d$i" >/dev/null; t1=$(ms); echo $(( (t1 - t0) / 1000 ))
    done | awk '{ print $1 / 1000 }' | stats "clean stop debian"
fi
