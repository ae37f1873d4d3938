#!/usr/bin/env python3
"""sysbox side by side with LXC and systemd-nspawn, in one run, on the same root filesystems.

Started by Benchmarks/run (which installs the peers and builds sysbox in release mode); see the README's
Benchmarks section. Root only. Everything it makes lives under one temporary directory, one cgroup of its
own in every hierarchy, two sysbox networks (their bridges) and, when /run is not a tmpfs, a tmpfs on
/run/systemd/nspawn; all of it is removed at the end, also after an error or Ctrl-C.

Method: every operation is measured for each tool in the same loop, interleaved (sysbox, LXC, nspawn,
sysbox, ...), one warm-up round first (not counted), then --runs rounds. Latencies of single commands
(exec) are timed with hyperfine -N in alternating rounds. Times are wall-clock milliseconds.
"""
import argparse
import datetime
import json
import os
import platform
import pty
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOOLS = ("sysbox", "lxc", "nspawn")
# The unprivileged comparison (--only unpriv): sysbox unprivileged (its default), the same privileged
# (security.privileged=true) and LXC unprivileged (lxc.idmap over a shifted copy of the same rootfs).
UNPRIV = (("u-sysbox", "sysbox unprivileged"), ("p-sysbox", "sysbox privileged"), ("u-lxc", "LXC unprivileged"))
LXC_IDMAP_BASE = 100000     # LXC's map: 0 -> 100000, 65536 ids (sysbox allocates from 1000000 up)
INOTIFY = "/proc/sys/fs/inotify/max_user_instances"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def now_ms():
    return time.perf_counter_ns() / 1e6


def run(argv, env=None, check=True, capture=False, timeout=600, stdin=subprocess.DEVNULL):
    """Runs a command; output discarded unless capture. Raises with the command's stderr on failure."""
    p = subprocess.run(argv, env=env, stdin=stdin, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=timeout, text=True)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {p.stderr.strip()[-600:]}")
    return p.stdout if capture else p.returncode


def until(fn, timeout=60.0, pause=0.005, what="condition"):
    """Calls fn until it returns a true value (returned); fails after timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(pause)


def smaps(pid):
    """(USS, PSS) of a process in KiB from /proc/PID/smaps_rollup; (0, 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            text = f.read()
    except OSError:
        return (0, 0)
    v = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+) kB", text, re.M)}
    return (v.get("Private_Clean", 0) + v.get("Private_Dirty", 0), v.get("Pss", 0))


def ns_members(init_pid):
    """Pids of every process in init_pid's PID namespace (init included)."""
    try:
        target = os.readlink(f"/proc/{init_pid}/ns/pid")
    except OSError:
        return []
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                if os.readlink(f"/proc/{e}/ns/pid") == target:
                    out.append(int(e))
            except OSError:
                pass
    return out


def shift_tree(root, offset):
    """chowns every file under root (root included, symlinks themselves) by +offset, as LXC stores an
    unprivileged container's files; mode bits that chown clears (setuid, setgid) are put back. Each inode
    once (hard links). File capabilities (security.capability) are not carried over."""
    seen = set()

    def shift(path):
        st = os.lstat(path)
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        os.lchown(path, st.st_uid + offset, st.st_gid + offset)
        if not os.path.islink(path) and st.st_mode & 0o6000:
            os.chmod(path, st.st_mode & 0o7777)

    shift(root)
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            shift(os.path.join(dirpath, n))


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


class Stats:
    """Samples per (operation, tool), in insertion order of the operations. columns: (tool key, header);
    ratios: (numerator, denominator) tool keys, compared by their medians. Every sample also records the
    host's 1-minute load average at that moment (the machine is shared), shown per row."""

    def __init__(self, columns=(("sysbox", "sysbox"), ("lxc", "LXC"), ("nspawn", "nspawn")),
                 ratios=(("sysbox", "lxc"), ("sysbox", "nspawn"))):
        self.columns = columns
        self.ratios = ratios
        self.rows = {}      # op -> {tool: [values]}
        self.units = {}     # op -> unit
        self.notes = {}     # op -> note
        self.load = {}      # op -> [1-minute load average at each sample]
        self.no_ratio = set()

    def add(self, op, tool, value, unit="ms"):
        self.rows.setdefault(op, {}).setdefault(tool, []).append(value)
        self.units[op] = unit
        self.load.setdefault(op, []).append(os.getloadavg()[0])

    def note(self, op, text):
        self.notes[op] = text

    @staticmethod
    def fmt(v):
        return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"

    def cell(self, values):
        if not values:
            return "–"
        if len(values) == 1:
            return self.fmt(values[0])
        return f"{self.fmt(min(values))} / **{self.fmt(statistics.median(values))}** / {self.fmt(max(values))}"

    def header(self, key):
        return dict(self.columns)[key]

    def table(self):
        heads = [h for _, h in self.columns] + [f"{self.header(a)}/{self.header(b)}" for a, b in self.ratios]
        lines = ["| operation | unit | " + " | ".join(heads) + " | load (1 min) |",
                 "|---|---|" + "---|" * len(heads) + "---|"]
        for op, per in self.rows.items():
            ratios = []
            for a, b in self.ratios:
                s, p = per.get(a, []), per.get(b, [])
                ok = s and p and statistics.median(p) > 0 and op not in self.no_ratio
                ratios.append(f"{statistics.median(s) / statistics.median(p):.2f}" if ok else "–")
            n = max(len(v) for v in per.values())
            load = self.load.get(op, [])
            cells = [self.cell(per.get(key, [])) for key, _ in self.columns] + ratios
            lines.append(f"| {op} | {self.units[op]}, n={n} | " + " | ".join(cells) +
                         (f" | {min(load):.1f}–{max(load):.1f} |" if load else " | – |"))
        return "\n".join(lines)

    def text(self):
        """Plain table for the terminal."""
        out = [f"{'operation':58} {'tool':9} {'min':>9} {'median':>9} {'max':>9} {'IQR':>8}  load"]
        for op, per in self.rows.items():
            for tool, _ in self.columns:
                v = per.get(tool)
                if v:
                    q = statistics.quantiles(v, n=4) if len(v) > 1 else [v[0], v[0], v[0]]
                    load = self.load.get(op, [0])
                    out.append(f"{op[:58]:58} {tool:9} {min(v):9.2f} {statistics.median(v):9.2f} {max(v):9.2f} "
                               f"{q[2] - q[0]:8.2f}  {min(load):.1f}-{max(load):.1f}")
        return "\n".join(out)


class Bench:
    def __init__(self, args, want=lambda op: True):
        self.args = args
        self.want = want
        self.root = tempfile.mkdtemp(prefix="sysbox-compare.")
        os.chmod(self.root, 0o711)
        self.bin = args.sysbox
        self.tag = f"{os.getpid() % 100000}"
        self.net = f"sbc{self.tag}"[:15]
        self.peer_net = f"sbcp{self.tag}"[:15]
        self.lxcpath = os.path.join(self.root, "lxc")
        self.nspawn_dir = os.path.join(self.root, "nspawn")
        self.cgroup = f"sysbox-compare-{self.tag}"
        self.cg_dirs = []
        self.mounted_nspawn_run = False
        self.nspawns = {}          # name -> Popen
        self.stats = Stats()
        self.unpriv = Stats(UNPRIV, (("u-sysbox", "p-sysbox"), ("u-sysbox", "u-lxc")))
        self.states = {}           # label -> state dir
        self.ip_next = 100
        self.origin_cgroups = {}

    # ---------- environment ----------
    def default_network(self, state):
        """The default network's name for a state directory (SYSBOX_DEFAULT_NETWORK): one of the run's own,
        so nothing here ever names or creates the host-wide sysboxbr0 of the user's own containers."""
        return {"main": self.net, "dir": self.net + "d", "btrfs": self.net + "b", "peers": self.peer_net,
                "list": f"sbcl{self.tag}"}[state][:15]

    def lxcfs_dir(self):
        return os.path.join(self.root, "lxcfs")

    def stop_lxcfs(self):
        """Ends the run's lxcfs (the pid its pid file names, when that process is lxcfs) and its mount."""
        try:
            with open(self.lxcfs_dir() + ".pid") as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/comm") as f:
                if f.read().startswith("lxcfs"):
                    os.kill(pid, signal.SIGTERM)
                    # lxcfs takes seconds to tear its FUSE mount down; its cgroups stay busy until then.
                    for _ in range(500):
                        try:
                            with open(f"/proc/{pid}/stat") as st:
                                if st.read().rsplit(")", 1)[1].split()[0] == "Z":
                                    break
                        except OSError:
                            break
                        time.sleep(0.02)
        except (OSError, ValueError):
            pass
        run(["umount", "-l", self.lxcfs_dir()], check=False)

    def sysbox_env(self, state="main", driver=None):
        # An lxcfs of the run's own (sysbox starts it on first need): ended at cleanup, so the run leaves
        # no host-wide lxcfs behind, and none in the run's cgroup keeping it busy.
        env = dict(os.environ, SYSBOX_DIR=self.states[state], SYSBOX_DEFAULT_NETWORK=self.default_network(state),
                   SYSBOX_LXCFS_DIR=self.lxcfs_dir())
        env.pop("SYSBOX_LOG", None)
        if driver:
            env["SYSBOX_STORAGE_DRIVER"] = driver
        return env

    def sb(self, state, *argv, check=True, capture=False, timeout=600):
        return run([self.bin, *argv], env=self.sysbox_env(state), check=check, capture=capture, timeout=timeout)

    def enter_cgroup(self):
        """Our own cgroup in every hierarchy, for this process and the peers it starts (nspawn makes
        payload/ and supervisor/ cgroups, LXC lxc.pivot/ and lxc.payload.*/ beside its caller's with
        lxc.cgroup.relative = 1): so nothing lands in the host's root cgroups."""
        with open("/proc/self/cgroup") as f:
            mine = {}
            for line in f:
                _, ctrl, path = line.rstrip("\n").split(":", 2)
                mine[ctrl] = path
        with open("/proc/self/mountinfo") as f:
            mounts = [l.split(" - ") for l in f if " - cgroup" in l]
        for left, right in mounts:
            mp = left.split()[4]
            fstype, _, opts = right.split()[:3]
            ctrl = "" if fstype == "cgroup2" else ",".join(o for o in opts.split(",") if o not in ("rw", "ro", "nosuid", "nodev", "noexec", "relatime", "clone_children", "xattr", "noprefix") and not o.startswith("release_agent"))
            base = mp + mine.get(ctrl, "/").rstrip("/") if ctrl in mine else mp
            d = os.path.join(base, self.cgroup)
            os.makedirs(d, exist_ok=True)
            self.cg_dirs.append(d)
            for fname in ("cpuset.cpus", "cpuset.mems"):
                if os.path.exists(os.path.join(d, fname)):
                    with open(os.path.join(base, fname)) as src, open(os.path.join(d, fname), "w") as dst:
                        dst.write(src.read().strip() or "\n")
            self.origin_cgroups[d] = base
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))

    def leave_cgroup(self):
        for d, base in self.origin_cgroups.items():
            try:
                with open(os.path.join(base, "cgroup.procs"), "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                pass
        for d in self.cg_dirs:
            for dirpath, dirnames, _ in sorted(os.walk(d), key=lambda t: -t[0].count("/")):
                try:
                    os.rmdir(dirpath)
                except OSError as e:
                    log(f"warning: cannot remove cgroup {dirpath}: {e}")

    def machine(self):
        cpu = "unknown"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        fs = run(["findmnt", "-n", "-o", "FSTYPE,SOURCE", "-T", self.root], capture=True).split()
        fs = " on ".join(fs)
        with open("/proc/self/mountinfo") as f:
            cg = "v2" if not any(" - cgroup " in l for l in f) else "v1 hybrid"
        mem = run(["awk", "/MemTotal/ {print int($2/1024/1024+0.5)}", "/proc/meminfo"], capture=True).strip()
        def ver(argv):
            try:
                return run(argv, capture=True, check=False).strip().splitlines()[0]
            except (OSError, IndexError):
                return "not installed"
        return {
            "host": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "memory": f"{mem} GiB",
            "kernel": platform.release(), "filesystem": f"{fs} ({self.root})", "cgroups": cg,
            "sysbox": run(["git", "-C", self.args.checkout, "describe", "--always", "--dirty"], capture=True, check=False).strip(),
            "lxc": ver(["lxc-start", "--version"]), "nspawn": ver(["systemd-nspawn", "--version"]),
            "hyperfine": ver(["hyperfine", "--version"]),
            "lxcfs hook in LXC containers": "yes" if os.path.exists("/usr/share/lxc/config/common.conf.d/00-lxcfs.conf") else "no (lxcfs not installed)",
        }

    # ---------- set-up ----------
    def setup(self):
        self.machine_info = self.machine()
        self.load_start = ", ".join(f"{v:.2f}" for v in os.getloadavg())
        # Every privileged container's systemd takes inotify instances from root's one budget
        # (fs.inotify.max_user_instances, 128 by default): 20 Debian containers need more, or the last
        # ones' systemd exits ("Failed to allocate manager object: Too many open files"), whatever the
        # manager. Raised for the run as LXD's production setup advises, put back at the end.
        with open(INOTIFY) as f:
            self.inotify_before = f.read().strip()
        if int(self.inotify_before) < 1024:
            with open(INOTIFY, "w") as f:
                f.write("1024")
        self.machine_info["fs.inotify.max_user_instances"] = f"{self.inotify_before}, 1024 during the run"
        self.enter_cgroup()
        self.states["main"] = os.path.join(self.root, "sysbox")
        if self.args.images_from:
            # A state directory holding the images and no container (a copy; the original is untouched).
            run(["cp", "-a", "--reflink=auto", self.args.images_from, self.states["main"]])
            for leftover in ("containers", "locks"):
                shutil.rmtree(os.path.join(self.states["main"], leftover), ignore_errors=True)
        else:
            os.makedirs(self.states["main"])
            log("building the images (busybox, debian) in a state directory of the run")
        have = {i["template"] for i in json.loads(self.sb("main", "image", "list", "-f", "json", capture=True))}
        for template in ["busybox"] + ([] if self.args.skip_debian else ["debian"]):
            if template not in have:
                self.sb("main", "image", "build", template, timeout=1800)
        images = json.loads(self.sb("main", "image", "list", "-f", "json", capture=True))
        self.rootfs = {}
        self.image_mib = {}
        for img in images:
            self.rootfs[img["template"]] = os.path.join(self.states["main"], "images", img["fingerprint"], "rootfs")
            self.image_mib[img["template"]] = int(run(["du", "-sm", self.rootfs[img["template"]]], capture=True).split()[0])
        # The same images for the dir driver: a copy of the state directory made before any container,
        # with its recorded driver changed (images are plain directories for both drivers).
        # The same for `list` (a state directory of its own, without networks). Only when measured.
        copies = [st for st, op in (("dir", "snapshot"), ("list", "list")) if self.want(op)]
        for state in copies:
            self.states[state] = os.path.join(self.root, f"sysbox-{state}")
            run(["cp", "-a", "--reflink=auto", self.states["main"], self.states[state]])
        if "dir" in copies:
            run(["sqlite3", os.path.join(self.states["dir"], "sysbox.db"), "update settings set value='dir' where key='storage.driver'"])
        for state in ["main"] + (["dir"] if "dir" in copies else []):
            net = self.net if state == "main" else self.net + "d"
            self.sb(state, "network", "create", net[:15])
            self.sb(state, "profile", "device", "set", "default", "eth0", f"network={net[:15]}")
        # The peers' bridge: a managed network of its own in a third state directory, so that its bridge
        # gets what sysbox's gets (address, NAT, forwarding); the peers configure their own NICs.
        self.states["peers"] = os.path.join(self.root, "sysbox-peers")
        os.makedirs(self.states["peers"])
        self.sb("peers", "network", "create", self.peer_net, "ipv4.dhcp=false")
        cidr = self.sb("peers", "network", "get", self.peer_net, "ipv4.address", capture=True).strip()
        self.gateway, plen = cidr.split("/")
        self.peer_prefix = self.gateway.rsplit(".", 1)[0]
        self.peer_plen = plen
        # LXC: base containers whose rootfs is a copy of the sysbox images.
        os.makedirs(self.lxcpath)
        if any(self.want(op) for op in ("launch", "exec", "stop", "density")):
            for name in self.rootfs:
                d = os.path.join(self.lxcpath, f"base-{name}")
                os.makedirs(d)
                run(["cp", "-a", "--reflink=auto", self.rootfs[name], os.path.join(d, "rootfs")])
                self.lxc_config(f"base-{name}", name)
        # Unprivileged LXC: LXC stores a container's files shifted (owners as the host sees them), so its
        # base is a copy of the image chowned by +100000 once (LXC's own way; sysbox shifts nothing: its
        # idmapped mounts show the image's files as the container's ids). The walk is timed (n=1).
        if self.want("unpriv"):
            for name in self.rootfs:
                d = os.path.join(self.lxcpath, f"ubase-{name}")
                os.makedirs(d)
                run(["cp", "-a", "--reflink=auto", self.rootfs[name], os.path.join(d, "rootfs")])
                t0 = now_ms()
                shift_tree(os.path.join(d, "rootfs"), LXC_IDMAP_BASE)
                label = f"LXC only: chown walk of a copy of the {name} image ({self.image_mib[name]} MiB), once per base"
                self.unpriv.add(label, "u-lxc", now_ms() - t0)
                self.unpriv.no_ratio.add(label)
                self.lxc_config(f"ubase-{name}", name, unprivileged=True)
        # nspawn: refuses a /run that is not a tmpfs for its propagation directory.
        fst = run(["stat", "-f", "-c", "%T", "/run"], capture=True).strip()
        if fst != "tmpfs" and any(self.want(op) for op in ("launch", "exec", "stop", "density")):
            os.makedirs("/run/systemd/nspawn", exist_ok=True)
            run(["mount", "-t", "tmpfs", "-o", "mode=755", "sysbox-compare", "/run/systemd/nspawn"])
            self.mounted_nspawn_run = True
        os.makedirs(self.nspawn_dir)

    def next_ip(self):
        self.ip_next = 100 + (self.ip_next - 99) % 150
        return f"{self.peer_prefix}.{self.ip_next}/{self.peer_plen}"

    def lxc_config(self, name, template, rootfs=None, unprivileged=False):
        """A plain privileged LXC container on the peers' bridge, LXC's common.conf defaults (no lxcfs).
        unprivileged: LXC's userns.conf too (as its templates write for an unprivileged container) and
        lxc.idmap 0 -> 100000, 65536 uids and gids (root writes the maps itself: no newuidmap here)."""
        d = os.path.join(self.lxcpath, name)
        halt = "SIGUSR2" if template == "busybox" else "SIGRTMIN+3"
        mac = "00:16:3e:%02x:%02x:%02x" % tuple(os.urandom(3))
        userns = (f"lxc.include = /usr/share/lxc/config/userns.conf\nlxc.idmap = u 0 {LXC_IDMAP_BASE} 65536\n"
                  f"lxc.idmap = g 0 {LXC_IDMAP_BASE} 65536\n") if unprivileged else ""
        with open(os.path.join(d, "config"), "w") as f:
            f.write(f"""lxc.include = /usr/share/lxc/config/common.conf
{userns}lxc.uts.name = {name}
lxc.rootfs.path = {rootfs or 'dir:' + os.path.join(d, 'rootfs')}
lxc.init.cmd = /sbin/init
lxc.signal.halt = {halt}
lxc.tty.max = 0
lxc.cgroup.relative = 1
lxc.environment = container=lxc
lxc.net.0.type = veth
lxc.net.0.link = {self.peer_net}
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.hwaddr = {mac}
lxc.net.0.ipv4.address = {self.next_ip()}
lxc.net.0.ipv4.gateway = {self.gateway}
""")

    def lxc(self, verb, *argv, check=True, capture=False, timeout=600, path=None):
        return run([f"lxc-{verb}", "-P", path or self.lxcpath, *argv], check=check, capture=capture, timeout=timeout)

    def lxc_clone(self, template, name, base="base"):
        """An overlay clone of the base (lxc-copy -s -B overlay), with its own address and MAC."""
        self.lxc("copy", "-n", f"{base}-{template}", "-N", name, "-s", "-B", "overlay")
        cfg = os.path.join(self.lxcpath, name, "config")
        with open(cfg) as f:
            text = f.read()
        text = re.sub(r"lxc.net.0.ipv4.address = .*", f"lxc.net.0.ipv4.address = {self.next_ip()}", text)
        text = re.sub(r"lxc.net.0.hwaddr = .*", "lxc.net.0.hwaddr = 00:16:3e:%02x:%02x:%02x" % tuple(os.urandom(3)), text)
        with open(cfg, "w") as f:
            f.write(text)

    # ---------- the three tools, one interface ----------
    def start_sysbox(self, template, name, state="main", privileged=True):
        """sysbox launch; privileged unless asked (the peers of the main table, LXC and nspawn, run
        privileged containers: like for like; the unprivileged comparison is op_unpriv)."""
        self.sb(state, "launch", template, name, "-c", f"security.privileged={'true' if privileged else 'false'}")

    def start_lxc(self, template, name, clone=True):
        if clone:
            self.lxc_clone(template, name)
        self.lxc("start", "-n", name)

    def start_nspawn(self, template, name):
        """systemd-nspawn -b on the image with a tmpfs overlay (--volatile=overlay), veth on the peers' bridge.
        --register=no --keep-unit: this host's PID 1 is not systemd (no machined, no scopes)."""
        p = subprocess.Popen(["systemd-nspawn", "-q", "-D", self.rootfs[template], "--volatile=overlay", "-b",
                              "-M", name, "--register=no", "--keep-unit", "--console=passive",
                              f"--network-bridge={self.peer_net}"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.nspawns[name] = p

    def nspawn_leader(self, name):
        p = self.nspawns[name]
        try:
            with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                kids = f.read().split()
        except OSError:
            kids = []
        if p.poll() is not None:
            raise RuntimeError(f"systemd-nspawn {name} exited {p.returncode}: {p.stderr.read().decode()[-400:]}")
        return int(kids[0]) if kids else None

    def init_pid(self, tool, name, state="main"):
        if tool == "sysbox":
            with open(os.path.join(self.states[state], "containers", name, "init.pid")) as f:
                return int(f.read().split()[0])
        if tool == "lxc":
            return int(self.lxc("info", "-n", name, "-pH", capture=True).strip())
        return self.nspawn_leader(name)

    def exec_argv(self, tool, name, cmd, state="main"):
        if tool == "sysbox":
            return [self.bin, "exec", name, "--", *cmd]
        if tool == "lxc":
            return ["lxc-attach", "-P", self.lxcpath, "-n", name, "--", *cmd]
        pid = self.nspawn_leader(name)
        return ["nsenter", "-t", str(pid), "-a", *cmd] if pid and self.nspawn_booted(pid) else ["false"]

    @staticmethod
    def nspawn_booted(pid):
        """The leader has exec'd the image's init (before that, nsenter would run on a half-made root)."""
        try:
            return os.path.basename(os.readlink(f"/proc/{pid}/exe")) in ("busybox", "systemd")
        except OSError:
            return False

    def exec_ok(self, tool, name, cmd=("true",), state="main"):
        env = self.sysbox_env(state) if tool == "sysbox" else None
        return subprocess.run(self.exec_argv(tool, name, list(cmd), state), env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0

    def systemd_up(self, tool, name, state="main"):
        env = self.sysbox_env(state) if tool == "sysbox" else None
        p = subprocess.run(self.exec_argv(tool, name, ["systemctl", "is-system-running"], state), env=env,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return p.stdout.strip() in ("running", "degraded")

    def ready(self, tool, template, name, state="main", timeout=60):
        if template == "debian":
            until(lambda: self.systemd_up(tool, name, state), timeout, 0.01, f"systemd in {tool} {name}")
        else:
            until(lambda: self.exec_ok(tool, name, state=state), timeout, 0.002, f"exec in {tool} {name}")

    def stop(self, tool, name, force=False, state="main"):
        if tool == "sysbox":
            self.sb(state, "stop", name, *(["-f"] if force else []))
        elif tool == "lxc":
            self.lxc("stop", "-n", name, *(["-k"] if force else []))
        else:
            p = self.nspawns[name]
            leader = self.nspawn_leader(name)
            if force:
                if leader:
                    os.kill(leader, signal.SIGKILL)
            else:
                os.kill(p.pid, signal.SIGTERM)   # nspawn asks the container's systemd to power off
            p.wait(timeout=120)
            del self.nspawns[name]

    def delete(self, tool, name, state="main"):
        if tool == "sysbox":
            self.sb(state, "delete", name)
        elif tool == "lxc":
            self.lxc("destroy", "-n", name)

    def destroy(self, tool, name, state="main"):
        """Untimed clean-up: whatever state the container is in."""
        if tool == "sysbox":
            self.sb(state, "delete", "-f", name, check=False)
        elif tool == "lxc":
            self.lxc("stop", "-n", name, "-k", check=False)
            self.lxc("destroy", "-n", name, check=False)
        elif name in self.nspawns:
            self.stop("nspawn", name, force=True)

    # ---------- operations ----------
    def rounds(self, n=None):
        """Warm-up round (-1, not counted) then n rounds."""
        return range(-1, n or self.args.runs)

    def op_launch(self, template):
        label = "launch busybox until `true` runs inside" if template == "busybox" else "launch debian until systemd is running"
        tools = TOOLS
        for r in self.rounds():
            for tool in tools:
                name = f"l{template[0]}{tool[0]}{r + 1}"
                t0 = now_ms()
                getattr(self, f"start_{tool}")(template, name)
                self.ready(tool, template, name)
                t = now_ms() - t0
                if r >= 0:
                    self.stats.add(label, tool, t)
                if tool == "nspawn":
                    self.destroy(tool, name)
                    continue
                self.stop(tool, name, force=True)
                t0 = now_ms()
                self.delete(tool, name)
                if r >= 0:
                    self.stats.add(f"delete a stopped {template} container", tool, now_ms() - t0)
        self.stats.note(label, "sysbox `launch -c security.privileged=true` (overlay on the image, NIC on a managed bridge; privileged "
                        "like its peers here, see the unprivileged table); LXC `lxc-copy -s -B overlay` "
                        "+ `lxc-start` + `lxc-attach`; nspawn `-b --volatile=overlay` until `nsenter -a` works")

    def op_stop(self, template):
        for force in (False, True):
            label = f"{'forced' if force else 'clean'} stop, booted {template}"
            tools = TOOLS if (force or template == "debian") else ("sysbox", "lxc")
            for r in self.rounds():
                for tool in tools:
                    name = f"s{template[0]}{tool[0]}{int(force)}{r + 1}"
                    getattr(self, f"start_{tool}")(template, name)
                    self.ready(tool, template, name)
                    t0 = now_ms()
                    self.stop(tool, name, force=force)
                    if r >= 0:
                        self.stats.add(label, tool, now_ms() - t0)
                    self.destroy(tool, name)

    def op_exec(self):
        """exec latency of `true` into a running busybox container: hyperfine -N, 20 runs per round,
        rounds alternating between the commands."""
        names = {}
        for tool in ("sysbox", "lxc"):
            names[tool] = f"x{tool[0]}"
            getattr(self, f"start_{tool}")("busybox", names[tool])
            self.ready(tool, "busybox", names[tool])
        pid = self.init_pid("sysbox", names["sysbox"])
        cmds = {
            "sysbox": f"{self.bin} exec {names['sysbox']} -- true",
            "lxc": f"lxc-attach -P {self.lxcpath} -n {names['lxc']} -- true",
            "nspawn": f"nsenter -t {pid} -a true",
            "host": "true",
        }
        label = "exec `true` (LXC: lxc-attach; nspawn column: nsenter -a, the floor)"
        out = os.path.join(self.root, "hf.json")
        for r in range(-1, self.args.exec_rounds):
            for tool, cmd in cmds.items():
                run(["hyperfine", "-N", "-w", "3", "-r", "20", "--export-json", out, cmd], env=self.sysbox_env())
                with open(out) as f:
                    times = json.load(f)["results"][0]["times"]
                if r >= 0:
                    for t in times:
                        self.stats.add(label if tool != "host" else "`true` on the host, no container (fork+exec, for scale; shown in the sysbox column)", tool if tool != "host" else "sysbox", t * 1000)
        self.op_pty(names, pid)
        for tool in ("sysbox", "lxc"):
            self.destroy(tool, names[tool])

    def op_pty(self, names, pid):
        """An interactive shell under a pty: time to the first answer, then the round-trip of one line."""
        argv = {
            "sysbox": [self.bin, "exec", "-t", names["sysbox"], "--", "sh"],
            "lxc": ["lxc-attach", "-P", self.lxcpath, "-n", names["lxc"], "--", "sh"],
            "nspawn": ["nsenter", "-t", str(pid), "-a", "sh"],
        }
        for r in self.rounds():
            for tool in TOOLS:
                t0 = now_ms()
                child, fd = pty.fork()
                if child == 0:
                    os.environ["SYSBOX_DIR"] = self.states["main"]
                    os.execvp(argv[tool][0], argv[tool])
                buf = b""

                def wait_for(pattern):
                    """Reads until pattern (a regex on bytes) matches; answers the line editor's cursor
                    position query (ESC [6n) as a terminal would."""
                    nonlocal buf
                    end = time.monotonic() + 20
                    while True:
                        if b"\x1b[6n" in buf:
                            buf = buf.replace(b"\x1b[6n", b"")
                            os.write(fd, b"\x1b[1;1R")
                        if re.search(pattern, buf):
                            break
                        if time.monotonic() > end:
                            raise RuntimeError(f"no answer from the {tool} shell: {buf[-200:]!r}")
                        ready, _, _ = select.select([fd], [], [], 1)
                        if ready:
                            try:
                                buf += os.read(fd, 4096)
                            except OSError:
                                raise RuntimeError(f"the {tool} shell went away: {buf[-200:]!r}")
                    buf = b""

                def ask(i):
                    os.write(fd, f"echo Q$(({i}*7))Z\n".encode())
                    wait_for(f"Q{i * 7}Z".encode())
                wait_for(rb"[#$] $")   # the prompt: the shell reads its terminal
                ask(1)
                first = now_ms() - t0
                trips = []
                for i in range(2, 52):
                    t1 = now_ms()
                    ask(i)
                    trips.append(now_ms() - t1)
                os.write(fd, b"exit\n")
                os.waitpid(child, 0)
                os.close(fd)
                if r >= 0:
                    self.stats.add("interactive shell under a pty: open until the first answer", tool, first)
                    self.stats.add("interactive shell under a pty: one line's round-trip (median of 50)", tool, statistics.median(trips))

    # ---------- unprivileged: sysbox unprivileged, sysbox privileged, LXC unprivileged ----------
    @staticmethod
    def u_base(tool):
        """The tool that runs a column of the unprivileged table (its exec and stop commands)."""
        return "lxc" if tool == "u-lxc" else "sysbox"

    def u_start(self, tool, template, name):
        if tool == "u-lxc":
            self.lxc_clone(template, name, base="ubase")
            self.lxc("start", "-n", name)
        else:
            self.start_sysbox(template, name, privileged=tool == "p-sysbox")

    @staticmethod
    def u_order(r):
        """The three columns in a rotating order (round r starts with column r mod 3), so that none of
        them always runs first, or right after the same other one."""
        tools = [k for k, _ in UNPRIV]
        return tools[r % 3:] + tools[:r % 3]

    def op_unpriv(self, templates):
        """Unprivileged sysbox side by side with privileged sysbox and unprivileged LXC, same images, same
        probes for every column: launch until `true` runs inside (sysbox exec / lxc-attach, every 2 ms),
        Debian until `systemctl is-system-running` says running (the same exec tools, every 10 ms), then a
        clean stop of that just-booted Debian; the time the launch command itself takes (create + first
        start), for the small and the big image; exec latency (hyperfine -N, rotating rounds of 20)."""
        st = self.unpriv
        for template in templates:
            size = f"{template} image ({self.image_mib[template]} MiB)"
            for r in self.rounds():
                for tool in self.u_order(r):
                    base = self.u_base(tool)
                    name = f"u{template[0]}{tool[0]}{r + 1}"
                    t0 = now_ms()
                    self.u_start(tool, template, name)
                    t_cmd = now_ms() - t0
                    until(lambda: self.exec_ok(base, name), 60, 0.002, f"exec in {tool} {name}")
                    t_exec = now_ms() - t0
                    if template == "debian":
                        until(lambda: self.systemd_up(base, name), 60, 0.01, f"systemd in {tool} {name}")
                        t_run = now_ms() - t0
                        t1 = now_ms()
                        self.stop(base, name)
                        t_stop = now_ms() - t1
                    if r >= 0:
                        st.add(f"first start of a new container, {size}: the launch command returns", tool, t_cmd)
                        st.add(f"launch {template} until `true` runs inside", tool, t_exec)
                        if template == "debian":
                            st.add("launch debian until systemd is running", tool, t_run)
                            st.add("clean stop of the booted debian", tool, t_stop)
                    self.destroy(base, name)
        st.note("first start of a new container, busybox image", "sysbox `launch IMAGE NAME -c security.privileged=…` "
                "(create + start; returns once init runs); LXC `lxc-copy -s -B overlay` of the shifted base + "
                "`lxc-start -d` (returns once the container is RUNNING). The busybox and Debian rows side by side "
                "show whether the first start grows with the image (a chown walk would)")
        st.note("launch … until `true` runs inside", "the same command, then `sysbox exec NAME -- true` / `lxc-attach "
                "-n NAME -- true` every 2 ms until it succeeds")
        st.note("launch debian until systemd is running", "after that, `systemctl is-system-running` through the "
                "same exec tool every 10 ms until it prints running (or degraded)")
        st.note("clean stop of the booted debian", "`sysbox stop NAME` / `lxc-stop -n NAME` right after systemd "
                "reported running (SIGRTMIN+3 to systemd for both) until the command returns")
        names = {}
        for tool, _ in UNPRIV:
            names[tool] = f"ux{tool[0]}"
            self.u_start(tool, "busybox", names[tool])
            self.ready(self.u_base(tool), "busybox", names[tool])
        cmds = {tool: (f"{self.bin} exec {names[tool]} -- true" if self.u_base(tool) == "sysbox"
                       else f"lxc-attach -P {self.lxcpath} -n {names[tool]} -- true") for tool, _ in UNPRIV}
        label = "exec `true` in a running busybox (sysbox exec / lxc-attach)"
        out = os.path.join(self.root, "hf-u.json")
        for r in range(-1, self.args.exec_rounds):
            for tool in self.u_order(r):
                run(["hyperfine", "-N", "-w", "3", "-r", "20", "--export-json", out, cmds[tool]], env=self.sysbox_env())
                with open(out) as f:
                    times = json.load(f)["results"][0]["times"]
                if r >= 0:
                    for t in times:
                        st.add(label, tool, t * 1000)
        st.note(label, "hyperfine -N, 3 warm-up runs, rounds of 20 runs rotating between the columns")
        for tool, _ in UNPRIV:
            self.destroy(self.u_base(tool), names[tool])

    def setup_btrfs(self):
        """A loop-mounted btrfs (sparse file in the run's directory) with a sysbox state directory on it
        (the btrfs driver: its images are subvolumes, so the Debian image is built there once more) and an
        LXC path on it whose container's rootfs is a subvolume (LXC's btrfs backend)."""
        img = os.path.join(self.root, "btrfs.img")
        run(["truncate", "-s", "8G", img])
        run(["mkfs.btrfs", "-q", img])
        self.btrfs_mnt = os.path.join(self.root, "btrfs")
        os.makedirs(self.btrfs_mnt)
        run(["mount", "-o", "loop", img, self.btrfs_mnt])
        self.states["btrfs"] = os.path.join(self.btrfs_mnt, "sysbox")
        log("  building the debian image on btrfs (the btrfs driver keeps images as subvolumes)")
        self.sb("btrfs", "image", "build", "debian", timeout=1800)
        net = (self.net + "b")[:15]
        self.sb("btrfs", "network", "create", net)
        self.sb("btrfs", "profile", "device", "set", "default", "eth0", f"network={net}")
        self.lxcpath_btrfs = os.path.join(self.btrfs_mnt, "lxc")
        d = os.path.join(self.lxcpath_btrfs, "snapb")
        os.makedirs(d)
        run(["btrfs", "-q", "subvolume", "create", os.path.join(d, "rootfs")])
        run(["cp", "-a", "--reflink=auto", self.rootfs["debian"] + "/.", os.path.join(d, "rootfs")])
        saved, self.lxcpath = self.lxcpath, self.lxcpath_btrfs
        try:
            self.lxc_config("snapb", "debian", rootfs="btrfs:" + os.path.join(d, "rootfs"))
        finally:
            self.lxcpath = saved

    def op_snapshots(self):
        """Snapshot, restore and copy of a booted Debian container: sysbox overlay, dir and btrfs against
        LXC dir (rsync) and LXC btrfs (subvolume snapshots). LXC snapshots and copies stopped containers
        only (lxc-snapshot/lxc-copy refuse or warn on a running one), sysbox snapshots it running (frozen
        for the instant)."""
        sysboxes = [("snapo", "main", "overlay"), ("snapd", "dir", "dir")]
        lxcs = [("snapl", self.lxcpath, [" — sysbox overlay", " — sysbox dir"])]
        d = os.path.join(self.lxcpath, "snapl")
        os.makedirs(d)
        run(["cp", "-a", "--reflink=auto", self.rootfs["debian"], os.path.join(d, "rootfs")])
        self.lxc_config("snapl", "debian")
        if not self.args.no_btrfs:
            self.setup_btrfs()
            sysboxes.append(("snapb", "btrfs", "btrfs"))
            lxcs.append(("snapb", self.lxcpath_btrfs, [" — sysbox btrfs"]))
        for name, state, _ in sysboxes:
            self.start_sysbox("debian", name, state=state)
        for name, path, _ in lxcs:
            self.lxc("start", "-n", name, path=path)
        for name, state, _ in sysboxes:
            self.ready("sysbox", "debian", name, state)
        for name, path, _ in lxcs:
            until(lambda: run(["lxc-attach", "-P", path, "-n", name, "--", "systemctl", "is-system-running"],
                              capture=True, check=False).strip() in ("running", "degraded"), 60, 0.01, f"systemd in LXC {name}")
            self.lxc("stop", "-n", name, path=path)
        # (tool, name, state or lxcpath, the rows its samples go to); LXC dir is the peer of overlay and dir.
        contenders = [("sysbox", n, st, [f" — sysbox {drv}"]) for n, st, drv in sysboxes] + [("lxc", *c) for c in lxcs]
        for r in self.rounds():
            for tool, name, where, suffixes in contenders:
                def add(what, t0):
                    if r >= 0:
                        for suffix in suffixes:
                            self.stats.add(what + suffix, tool, now_ms() - t0)
                snap = f"s{r + 1}"
                copy = f"c{name}{r + 1}"
                if tool == "sysbox":
                    t0 = now_ms()
                    self.sb(where, "snapshot", "create", name, snap)
                    add("snapshot a booted debian (sysbox: running; LXC: stopped)", t0)
                    # restore: stopped containers for both (LXC cannot restore a running one in place)
                    self.sb(where, "stop", name)
                    t0 = now_ms()
                    self.sb(where, "snapshot", "restore", name, snap)
                    add("restore a debian snapshot (stopped container)", t0)
                    t0 = now_ms()
                    self.sb(where, "copy", name, copy, "--instance-only")
                    add("copy a debian container (stopped)", t0)
                    t0 = now_ms()
                    self.sb(where, "delete", copy)
                    add("delete a copied debian container", t0)
                    self.sb(where, "start", name)
                    self.ready(tool, "debian", name, where)
                    self.sb(where, "snapshot", "delete", name, snap)
                else:
                    t0 = now_ms()
                    self.lxc("snapshot", "-n", name, path=where)
                    add("snapshot a booted debian (sysbox: running; LXC: stopped)", t0)
                    snap = self.lxc("snapshot", "-n", name, "-L", capture=True, path=where).split()[0]
                    t0 = now_ms()
                    self.lxc("snapshot", "-n", name, "-r", snap, path=where)
                    add("restore a debian snapshot (stopped container)", t0)
                    t0 = now_ms()
                    self.lxc("copy", "-n", name, "-N", copy, path=where)
                    add("copy a debian container (stopped)", t0)
                    t0 = now_ms()
                    self.lxc("destroy", "-n", copy, path=where)
                    add("delete a copied debian container", t0)
                    self.lxc("snapshot", "-n", name, "-d", snap, path=where)
        for name, state, _ in sysboxes:
            self.destroy("sysbox", name, state)
        for name, path, _ in lxcs:
            self.lxc("destroy", "-n", name, "-s", path=path, check=False)

    def op_list(self):
        """`sysbox list` with 0, 100 and 1000 containers recorded; `lxc-ls --fancy` on as many LXC
        containers (config only, one shared rootfs) for reference. Stopped containers."""
        lp = os.path.join(self.root, "lxc-list")
        os.makedirs(lp)
        self.sb("list", "profile", "create", "bare")
        self.sb("list", "profile", "device", "add", "bare", "root", "disk", "path=/")
        made = 0
        for count in (0, 100, 1000):
            log(f"  list: {count} containers")
            for i in range(made, count):
                self.sb("list", "create", "busybox", f"c{i}", "-p", "bare")
                d = os.path.join(lp, f"c{i}")
                os.makedirs(d)
                with open(os.path.join(d, "config"), "w") as f:
                    f.write(f"lxc.include = /usr/share/lxc/config/common.conf\nlxc.uts.name = c{i}\n"
                            f"lxc.rootfs.path = dir:{self.rootfs['busybox']}\nlxc.net.0.type = empty\n")
            made = count
            for r in self.rounds(max(self.args.runs, 20)):
                t0 = now_ms()
                self.sb("list", "list")
                if r >= 0:
                    self.stats.add(f"list, {count} containers", "sysbox", now_ms() - t0)
                t0 = now_ms()
                run(["lxc-ls", "-P", lp, "--fancy"])
                if r >= 0:
                    self.stats.add(f"list, {count} containers", "lxc", now_ms() - t0)
        shutil.rmtree(lp)

    def op_density(self, template, count):
        """count containers of each tool running idle at once: the manager's process (sysbox monitor,
        LXC monitor, systemd-nspawn) and the container's own processes, USS and PSS, and the drop of
        MemAvailable per container."""
        for tool in TOOLS:
            log(f"  density: {count} {template} containers, {tool}")
            names = [f"d{template[0]}{tool[0]}{i}" for i in range(count)]
            before = mem_available_kib()
            for n in names:
                getattr(self, f"start_{tool}")(template, n)
            for n in names:
                self.ready(tool, template, n, timeout=180)
            time.sleep(3)
            after = mem_available_kib()
            mgr_uss, mgr_pss, ct_uss, ct_pss = [], [], [], []
            for n in names:
                init = self.init_pid(tool, n)
                if tool == "sysbox":
                    with open(os.path.join(self.states["main"], "containers", n, "monitor.pid")) as f:
                        mgr = int(f.read().split()[0])
                elif tool == "lxc":
                    with open(f"/proc/{init}/stat") as f:
                        mgr = int(f.read().rsplit(")", 1)[1].split()[1])
                else:
                    mgr = self.nspawns[n].pid
                u, p = smaps(mgr)
                mgr_uss.append(u / 1024)
                mgr_pss.append(p / 1024)
                members = ns_members(init)
                ct_uss.append(sum(smaps(m)[0] for m in members) / 1024)
                ct_pss.append(sum(smaps(m)[1] for m in members) / 1024)
            s = self.stats
            s.add(f"manager process per {template} container: USS", tool, statistics.median(mgr_uss), "MiB")
            s.add(f"manager process per {template} container: PSS", tool, statistics.median(mgr_pss), "MiB")
            s.add(f"{template} container's own processes: USS", tool, statistics.median(ct_uss), "MiB")
            s.add(f"{template}: USS of the container's processes + its manager", tool,
                  statistics.median(c + m for c, m in zip(ct_uss, mgr_uss)), "MiB")
            # Includes page cache and kernel memory, charged to whoever touched it first: a rough figure.
            s.add(f"host MemAvailable drop per running {template} container ({count} running; rough, no ratio)", tool,
                  (before - after) / 1024 / count, "MiB")
            s.no_ratio.add(f"host MemAvailable drop per running {template} container ({count} running; rough, no ratio)")
            for n in names:
                self.destroy(tool, n)

    # ---------- clean-up ----------
    def cleanup(self):
        log("cleaning up")
        for name in list(self.nspawns):
            try:
                self.stop("nspawn", name, force=True)
            except Exception as e:          # noqa: BLE001 - clean-up goes on
                log(f"warning: nspawn {name}: {e}")
        if os.path.isdir(self.lxcpath):
            for name in os.listdir(self.lxcpath):
                if os.path.exists(os.path.join(self.lxcpath, name, "config")):
                    self.lxc("stop", "-n", name, "-k", check=False)
            for name in sorted(os.listdir(self.lxcpath), key=lambda n: n.startswith(("base-", "ubase-"))):
                if os.path.exists(os.path.join(self.lxcpath, name, "config")):
                    self.lxc("destroy", "-n", name, "-s", check=False)
        if getattr(self, "lxcpath_btrfs", None) and os.path.isdir(self.lxcpath_btrfs):
            for name in os.listdir(self.lxcpath_btrfs):
                self.lxc("stop", "-n", name, "-k", check=False, path=self.lxcpath_btrfs)
                self.lxc("destroy", "-n", name, "-s", check=False, path=self.lxcpath_btrfs)
        for state in ("list", "dir", "btrfs", "main", "peers"):
            if state not in self.states or not os.path.isdir(self.states[state]):
                continue
            try:
                names = self.sb(state, "list", "-f", "csv,noheader", capture=True, check=False) or ""
                for line in names.splitlines():
                    self.sb(state, "delete", "-f", line.split(",")[0], check=False)
                for net in (self.net, self.net + "d", self.net + "b", self.peer_net):
                    self.sb(state, "profile", "device", "remove", "default", "eth0", check=False)
                    self.sb(state, "network", "delete", net[:15], check=False)
            except Exception as e:          # noqa: BLE001
                log(f"warning: sysbox clean-up of {state}: {e}")
        if getattr(self, "btrfs_mnt", None):
            run(["umount", self.btrfs_mnt], check=False)
        if self.mounted_nspawn_run:
            run(["umount", "/run/systemd/nspawn"], check=False)
        self.stop_lxcfs()
        self.leave_cgroup()
        shutil.rmtree(self.root, ignore_errors=True)
        if getattr(self, "inotify_before", None):
            with open(INOTIFY, "w") as f:
                f.write(self.inotify_before)

    def report(self, started):
        m = self.machine_info
        minutes = (time.monotonic() - started) / 60
        md = [f"# sysbox vs LXC vs systemd-nspawn — {datetime.date.today()} on {m['host']}", "",
              "Produced by `Benchmarks/run` (Benchmarks/compare.py). Milliseconds unless the unit says otherwise: "
              "min / **median** / max; ratios compare medians (below 1: sysbox is faster or smaller).", "",
              "## Machine", ""]
        md += [f"- {k}: {v}" for k, v in m.items()]
        md += [f"- runs: {self.args.runs} interleaved rounds after one warm-up round; exec: {self.args.exec_rounds} hyperfine rounds of 20 runs",
               f"- whole run: {minutes:.1f} min", f"- load average (1, 5, 15 min) at the start: {self.load_start}, "
               f"at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; per row, the range of the "
               "1-minute load average over its samples", ""]
        if self.stats.rows:
            md += ["## Results", "", self.stats.table(), ""]
            if self.stats.notes:
                md += ["## Notes", ""] + [f"- {op}: {n}" for op, n in self.stats.notes.items()] + [""]
        if self.unpriv.rows:
            md += ["## Unprivileged containers", "",
                   "sysbox unprivileged (`security.privileged=false`, the default: a user namespace with 65536 ids "
                   "from 1000000 up, idmapped overlay layers, nothing chowned) beside the same privileged "
                   "(`security.privileged=true`) and LXC unprivileged (`lxc.idmap = u 0 100000 65536`, `g 0 100000 "
                   "65536`, LXC's `common.conf` + `userns.conf`, overlay clones of a base that is a copy of the same "
                   "image chowned by +100000: LXC stores unprivileged files shifted). The three columns run in the "
                   "same loop, their order rotating every round.", "", self.unpriv.table(), ""]
            if self.unpriv.notes:
                md += ["### Notes", ""] + [f"- {op}: {n}" for op, n in self.unpriv.notes.items()] + [""]
        return "\n".join(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sysbox", required=True, help="the sysbox binary (release build)")
    ap.add_argument("--checkout", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--exec-rounds", type=int, default=10)
    ap.add_argument("--density", type=int, default=20)
    ap.add_argument("--only", default="", help="comma-separated: launch,exec,stop,snapshot,list,density,unpriv")
    ap.add_argument("--skip-debian", action="store_true")
    ap.add_argument("--no-btrfs", action="store_true", help="leave out the btrfs driver (a loop-mounted btrfs; builds the Debian image once more)")
    ap.add_argument("--images-from", default="", help="a sysbox state directory with the images built and no containers (copied)")
    ap.add_argument("--out", default="", help="the results file (default Benchmarks/results/DATE-HOST.md)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("Error: the comparison needs root (namespaces, cgroups, bridges); run it as root")
    only = set(filter(None, args.only.split(",")))
    want = lambda op: not only or op in only   # noqa: E731
    templates = ["busybox"] + ([] if args.skip_debian else ["debian"])
    b = Bench(args, want)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        b.setup()
        for t in templates:
            if want("launch"):
                log(f"launch {t}")
                b.op_launch(t)
        if want("exec"):
            log("exec latency and pty round-trips")
            b.op_exec()
        for t in templates:
            if want("stop"):
                log(f"stop {t}")
                b.op_stop(t)
        if want("snapshot") and not args.skip_debian:
            log("snapshot, restore, copy of a booted debian")
            b.op_snapshots()
        if want("list"):
            log("list")
            b.op_list()
        for t in templates:
            if want("density"):
                log(f"density {t}")
                b.op_density(t, args.density)
        if want("unpriv"):
            log("unprivileged: sysbox unprivileged, sysbox privileged, LXC unprivileged")
            b.op_unpriv(templates)
    finally:
        b.cleanup()
    if b.stats.rows:
        print(b.stats.text())
    if b.unpriv.rows:
        print(b.unpriv.text())
    out = args.out or os.path.join(args.checkout, "Benchmarks", "results", f"{datetime.date.today()}-{platform.node()}.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(b.report(started))
    log(f"results written to {out}")


if __name__ == "__main__":
    main()
