# Sourced by scripts/sysbox and scripts/test: finds Swift and installs the Debian packages sysbox needs.
# Runs as root on Debian 12 (apt-get); installs only what is missing. Progress goes to stderr, so that
# stdout stays the output of the command that sourced this (`scripts/sysbox list --format json > f`).

# Debian packages the build and the tests need.
#   libsqlite3-dev  GRDB links the system SQLite
#   bsdutils        script(1): the tests give `profile edit` and `exec` a terminal
#   busybox-static  the busybox template builds its image from the host's static busybox
#   sqlite3         the tests read the database directly
#   nftables        managed networks: NAT and forwarding rules in a table of sysbox's own (nft -f)
#   dnsmasq-base    managed networks: DHCP and DNS on each bridge
#   debootstrap     the debian template builds its image with it
#   btrfs-progs     the btrfs storage driver (subvolumes) and its tests (a loop-mounted btrfs)
#   libseccomp-dev  the containers' seccomp filter is built with libseccomp (libseccomp.a for the static front)
#   iproute2        the network tests check links and build an "outside" namespace with ip (sysbox uses rtnetlink)
#   systemd         the tests check contrib/systemd/sysbox.service with systemd-analyze verify
#   man-db          the tests render the manual pages with man -l
#   lxcfs           containers see their own memory, CPUs and uptime in /proc (bound from its FUSE mount)
SYSBOX_PACKAGES=(libsqlite3-dev bsdutils busybox-static sqlite3 nftables dnsmasq-base iproute2 debootstrap btrfs-progs libseccomp-dev systemd man-db lxcfs)

sysbox_find_swift() {
    if ! command -v swift >/dev/null 2>&1; then
        for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
            if [ -x "$dir/swift" ]; then export PATH="$dir:$PATH"; break; fi
        done
    fi
    command -v swift >/dev/null 2>&1 || { echo "error: swift not found; install Swift 6 (e.g. under /opt/swift)" >&2; exit 1; }
}

sysbox_install_packages() {
    local missing=()
    for p in "${SYSBOX_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "Installing Debian packages: ${missing[*]}" >&2
        if [ "$(id -u)" -ne 0 ]; then echo "error: run as root to install ${missing[*]}" >&2; exit 1; fi
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    fi
}
