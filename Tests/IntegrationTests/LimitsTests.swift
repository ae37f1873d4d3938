import Foundation
import Testing

/// Issue 15 item 6, through the binary in real containers: CPU allowance and priority, memory
/// enforce/swap, disk I/O weight and throttles, kernel rlimits and namespaced sysctls; bad values are
/// one-line errors that change nothing.
@Suite(.serialized) struct LimitsTests {
    init() throws {
        try #require(getuid() == 0, "the limits tests boot real containers and must run as root")
    }

    func cgroupFile(_ s: Sandbox, _ controller: String, _ name: String, _ file: String) throws -> String {
        try String(contentsOfFile: "/sys/fs/cgroup/\(controller)/sysbox/\(cgroupHash(s.stateDir))/\(name)/\(file)", encoding: .utf8)
    }

    /// `MAJ:MIN` of the filesystem holding `path` (GNU stat), for the throttle files.
    func device(of path: String) throws -> String {
        try runProcess("/usr/bin/stat", ["-c", "%Hd:%Ld", path]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A CPU count exposes that many CPUs (LXD's limits.cpu): the cgroup's cpuset holds N of the host's,
    /// so nproc (sched_getaffinity) inside says N; live, and all of them again when unset.
    @Test func cpuCountPinsCPUs() throws {
        let s = try Sandbox.withoutNIC()
        let host = ProcessInfo.processInfo.activeProcessorCount
        try #require(host >= 2, "needs at least two CPUs to see a count pin one")
        try s.ok(["launch", "busybox", "n1", "-c", "limits.cpu=1"])
        #expect(try s.ok(["exec", "n1", "--", "nproc"]) == "1\n")
        let one = try cgroupFile(s, "cpuset", "n1", "cpuset.cpus").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(one) != nil, "cpuset.cpus \(one)")
        try s.ok(["config", "set", "n1", "limits.cpu=2"])
        #expect(try s.ok(["exec", "n1", "--", "nproc"]) == "2\n")
        try s.ok(["config", "unset", "n1", "limits.cpu"])
        #expect(try s.ok(["exec", "n1", "--", "nproc"]) == "\(host)\n")
        try s.ok(["delete", "--force", "n1"])
        #expect(s.leftovers() == [])
    }

    @Test func cpuAllowanceCapsABusyLoop() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "c1", "-c", "limits.cpu.allowance=25%", "-c", "limits.cpu.priority=5"])
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.cfs_quota_us") == "25000\n")
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.cfs_period_us") == "100000\n")
        // LXD's weight: the default 1024 less (10 - priority).
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.shares") == "1019\n")
        try s.ok(["exec", "c1", "--", "sh", "-c", "while :; do :; done >/dev/null 2>&1 </dev/null &"])
        // The loop's share over about 2 s, from the CPU time the kernel accounted to the container:
        // 25% of one CPU, loosely (never more than a third, clearly more than nothing).
        let start = Date()
        let before = UInt64(try cgroupFile(s, "cpuacct", "c1", "cpuacct.usage").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        usleep(2_000_000)
        let used = (UInt64(try cgroupFile(s, "cpuacct", "c1", "cpuacct.usage").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - before
        let share = Double(used) / 1e9 / Date().timeIntervalSince(start)
        #expect(share > 0.05 && share < 0.34, "share \(share)")
        // Live: a time slice, then unset (no cap, the default weight).
        try s.ok(["config", "set", "c1", "limits.cpu.allowance=10ms/50ms"])
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.cfs_quota_us") == "10000\n")
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.cfs_period_us") == "50000\n")
        try s.ok(["config", "unset", "c1", "limits.cpu.allowance"])
        try s.ok(["config", "unset", "c1", "limits.cpu.priority"])
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.cfs_quota_us") == "-1\n")
        #expect(try cgroupFile(s, "cpu", "c1", "cpu.shares") == "1024\n")
        try s.ok(["delete", "--force", "c1"])
        #expect(s.leftovers() == [])
    }

    @Test func memorySoftAndSwap() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "m1", "-c", "limits.memory=64MiB", "-c", "limits.memory.swap=false"])
        #expect(try cgroupFile(s, "memory", "m1", "memory.limit_in_bytes") == "67108864\n")
        if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") {
            // memory + swap capped at the memory limit: no swap.
            #expect(try cgroupFile(s, "memory", "m1", "memory.memsw.limit_in_bytes") == "67108864\n")
        }
        #expect(try cgroupFile(s, "memory", "m1", "memory.swappiness") == "0\n")
        // Soft, live: the limit moves to the soft limit and the hard one is lifted.
        try s.ok(["config", "set", "m1", "limits.memory.enforce=soft", "limits.memory.swap=true"])
        #expect(try cgroupFile(s, "memory", "m1", "memory.soft_limit_in_bytes") == "67108864\n")
        #expect(try cgroupFile(s, "memory", "m1", "memory.limit_in_bytes") == "9223372036854771712\n")
        #expect(try cgroupFile(s, "memory", "m1", "memory.memsw.limit_in_bytes") == "9223372036854771712\n")
        try s.ok(["config", "set", "m1", "limits.memory.enforce=hard"])
        #expect(try cgroupFile(s, "memory", "m1", "memory.limit_in_bytes") == "67108864\n")
        #expect(try cgroupFile(s, "memory", "m1", "memory.soft_limit_in_bytes") == "9223372036854771712\n")
        try s.ok(["delete", "--force", "m1"])
    }

    @Test func diskThrottles() throws {
        let s = try Sandbox.withoutNIC()
        let data = s.root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try s.ok(["launch", "busybox", "d1", "-d", "root,limits.read=10MB,limits.write=2MB"])
        // The root disk's throttle is on the block device under the state directory.
        let dev = try device(of: s.stateDir)
        #expect(try cgroupFile(s, "blkio", "d1", "blkio.throttle.read_bps_device") == "\(dev) 10000000\n")
        #expect(try cgroupFile(s, "blkio", "d1", "blkio.throttle.write_bps_device") == "\(dev) 2000000\n")
        // Direct writes of 6 MB at 2 MB/s take about 3 s (only a lower bound is checked).
        let start = Date()
        let dd = try s.run(["exec", "d1", "--", "dd", "if=/dev/zero", "of=/root/f", "bs=1M", "count=6", "oflag=direct"])
        #expect(dd.ok, "\(dd.stderr)")
        #expect(Date().timeIntervalSince(start) > 1.5)
        // Live: iops on another disk device on the same block device; the tighter limits win.
        try s.ok(["config", "device", "add", "d1", "data", "disk", "source=\(data)", "path=/data", "limits.max=100iops"])
        #expect(try cgroupFile(s, "blkio", "d1", "blkio.throttle.write_iops_device") == "\(dev) 100\n")
        try s.ok(["config", "device", "unset", "d1", "root", "limits.read", "limits.write"])
        try s.ok(["config", "device", "remove", "d1", "data"])
        #expect(try cgroupFile(s, "blkio", "d1", "blkio.throttle.read_bps_device") == "")
        #expect(try cgroupFile(s, "blkio", "d1", "blkio.throttle.write_iops_device") == "")
        // A source on tmpfs has no block device: refused, nothing changed.
        let before = try s.dump()
        try s.fails(
            ["config", "device", "add", "d1", "shm", "disk", "source=/dev/shm", "path=/shm", "limits.read=1MB"],
            "device shm: limits.read/limits.write cannot apply: /dev/shm is on tmpfs (tmpfs), which has no block device to throttle")
        #expect(try s.dump() == before)
        // limits.disk.priority: LXD's priority × 100 in the I/O weight file, which needs the bfq
        // scheduler's blkio.bfq.weight (or CFQ's blkio.weight) in the container's cgroup; without one,
        // a one-line error naming the host setting, nothing changed.
        let dir = "/sys/fs/cgroup/blkio/sysbox/\(cgroupHash(s.stateDir))/d1/"
        if let file = ["blkio.bfq.weight", "blkio.weight"].first(where: { FileManager.default.fileExists(atPath: dir + $0) }) {
            try s.ok(["config", "set", "d1", "limits.disk.priority=5"])
            #expect(try String(contentsOfFile: dir + file, encoding: .utf8) == "500\n")
            try s.ok(["config", "set", "d1", "limits.disk.priority=0"])
            #expect(try String(contentsOfFile: dir + file, encoding: .utf8) == "10\n")
        } else {
            try s.fails(["config", "set", "d1", "limits.disk.priority=5"], "limits.disk.priority needs an I/O weight (blkio.weight or blkio.bfq.weight, io.weight)")
            #expect(try s.dump() == before)
        }
        try s.ok(["delete", "--force", "d1"])
        #expect(s.leftovers() == [])
    }

    @Test func wrongUnitsAndRangesChangeNothing() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "b1", "-c", "limits.cpu.allowance=50%"])
        let before = try s.dump()
        let cases: [([String], String)] = [
            (["limits.cpu.allowance=50"], "invalid value \"50\" for limits.cpu.allowance: expected a share of one CPU like 50% or a time slice like 25ms/100ms"),
            (["limits.cpu.allowance=0%"], "0% is out of range; expected 1% to 819200% (100% is one CPU)"),
            (["limits.cpu.allowance=25ms/5000ms"], "the period 5000ms is out of range; the kernel takes 1ms to 1000ms"),
            (["limits.cpu.allowance=25s/100s"], "(times in ms)"),
            (["limits.cpu.priority=11"], "invalid value \"11\" for limits.cpu.priority: 11 is out of range; expected an integer from 0 to 10"),
            (["limits.disk.priority=-1"], "expected an integer from 0 to 10"),
            (["limits.memory.enforce=medium"], "expected hard or soft"),
            (["limits.memory.swap=maybe"], "expected true or false"),
            (["limits.kernel.nofile=2048:1024"], "the soft limit 2048 is above the hard limit 1024"),
            (["limits.kernel.nofile=lots"], "expected a number, unlimited, or soft:hard"),
            (["limits.kernel.nofiles=10"], "unknown resource \"nofiles\"; did you mean nofile?"),
            (["linux.sysctl.kernel.panic=1"], "kernel.panic is not namespaced"),
            (["linux.sysctl.net.ipv4.ip_forward="], "a sysctl value cannot be empty"),
            (["limits.cpu.priority=5", "limits.cpu.allowance=fast"], "for limits.cpu.allowance")
        ]
        for (pairs, text) in cases { try s.fails(["config", "set", "b1"] + pairs, text) }
        try s.fails(["config", "device", "override", "b1", "root", "limits.read=10Mbit"], "device root (disk): invalid value \"10Mbit\" for limits.read")
        try s.fails(["config", "device", "override", "b1", "root", "limits.write=0iops"], "0iops is out of range")
        #expect(try s.dump() == before)
        #expect(try cgroupFile(s, "cpu", "b1", "cpu.cfs_quota_us") == "50000\n")
        #expect(try cgroupFile(s, "cpu", "b1", "cpu.shares") == "1024\n")
        try s.ok(["delete", "--force", "b1"])
    }

    /// limits.kernel.*: init (and so its children) gets them at start, every exec too (the fast path,
    /// through exec.cache, and the Swift path, with an option); privileged and unprivileged.
    @Test(arguments: ["true", "false"]) func kernelLimitsForInitAndExec(privileged: String) throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "k1", "-c", "security.privileged=\(privileged)", "-c", "limits.kernel.nofile=200:300", "-c", "limits.kernel.core=0"])
        // A child of init: the console's shell.
        let console = try s.ok(["exec", "k1", "--", "sh", "-c", "for p in $(pidof sh); do grep 'Max open files' /proc/$p/limits; done; grep 'Max open files' /proc/1/limits"])
        #expect(
            !console.isEmpty
                && console.split(separator: "\n").allSatisfy {
                    $0.split(separator: " ", omittingEmptySubsequences: false).filter { !$0.isEmpty }.dropFirst(3).prefix(2) == ["200", "300"]
                }, "\(console)")
        #expect(try s.ok(["exec", "k1", "--", "sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"]) == "200\n300\n0\n")
        #expect(try s.ok(["exec", "k1", "--cwd", "/", "--", "sh", "-c", "ulimit -n; ulimit -Hn"]) == "200\n300\n")
        // Not live: a change waits for the next start, for exec as for init.
        try s.ok(["config", "set", "k1", "limits.kernel.nofile=100"])
        #expect(try s.ok(["exec", "k1", "--", "sh", "-c", "ulimit -n"]) == "200\n")
        try s.ok(["restart", "k1"])
        #expect(try s.ok(["exec", "k1", "--", "sh", "-c", "ulimit -n; ulimit -Hn"]) == "100\n100\n")
        #expect(try s.ok(["exec", "k1", "--", "sh", "-c", "grep 'Max open files' /proc/1/limits"]).contains(" 100 "))
        try s.ok(["delete", "--force", "k1"])
        #expect(s.leftovers() == [])
    }

    /// A low limit does not hit sysbox's own set-up (it is set last before the exec); a limit the kernel
    /// cannot take fails the start with one line naming the key, the host's value and the fix.
    @Test func kernelLimitsTheKernelRefuses() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "k2", "-c", "limits.kernel.nofile=10"])
        #expect(try s.ok(["exec", "k2", "--", "sh", "-c", "ulimit -n; ulimit -Hn"]) == "10\n10\n")
        try s.ok(["stop", "k2"])
        try s.ok(["config", "set", "k2", "limits.kernel.nofile=4"])
        try s.fails(["start", "k2"], "limits.kernel.nofile: a soft limit of 4 open files leaves no room for init to start; use at least 8")
        try s.ok(["config", "set", "k2", "limits.kernel.nofile=unlimited"])
        try s.fails(["start", "k2"], "limits.kernel.nofile: the kernel takes no unlimited number of open files")
        try s.ok(["config", "set", "k2", "limits.kernel.nofile=2000000"])
        try s.fails(["start", "k2"], "limits.kernel.nofile: the hard limit 2000000 is above the kernel's maximum (fs.nr_open")
        // Above sysbox's own hard limit: only with CAP_SYS_RESOURCE (some sandboxes run root without it).
        try s.ok(["config", "set", "k2", "limits.kernel.nofile=1024", "limits.kernel.nproc=unlimited"])
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let capEff = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") }.flatMap { UInt64($0.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        var nproc = rlimit()
        getrlimit(__rlimit_resource_t(UInt32(6)), &nproc)
        if capEff & (1 << 24) != 0 || nproc.rlim_max == UInt.max {
            try s.ok(["start", "k2"])
            #expect(try s.ok(["exec", "k2", "--", "sh", "-c", "ulimit -Hu"]) == "unlimited\n")
        } else {
            try s.fails(
                ["start", "k2"],
                "limits.kernel.nproc: the hard limit unlimited is above sysbox's own (\(nproc.rlim_max), which init inherits), and raising it needs CAP_SYS_RESOURCE")
        }
        try s.ok(["delete", "--force", "k2"])
        #expect(s.leftovers() == [])
    }

    /// linux.sysctl.*: written inside the container's namespaces at start and read back there; the
    /// host's own values are untouched.
    @Test(arguments: ["true", "false"]) func namespacedSysctls(privileged: String) throws {
        let s = try Sandbox()
        let hostForward = try String(contentsOfFile: "/proc/sys/net/ipv4/conf/all/forwarding", encoding: .utf8)
        let hostShm = try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8)
        try s.ok([
            "launch", "busybox", "y1", "-c", "security.privileged=\(privileged)", "-c", "linux.sysctl.net.ipv4.conf.eth0.forwarding=1",
            "-c", "linux.sysctl.kernel.shmmni=1234", "-c", "linux.sysctl.net.ipv4.ip_unprivileged_port_start=80"
        ])
        #expect(
            try s.ok(["exec", "y1", "--", "cat", "/proc/sys/net/ipv4/conf/eth0/forwarding", "/proc/sys/kernel/shmmni", "/proc/sys/net/ipv4/ip_unprivileged_port_start"])
                == "1\n1234\n80\n")
        #expect(try String(contentsOfFile: "/proc/sys/net/ipv4/conf/all/forwarding", encoding: .utf8) == hostForward)
        #expect(try String(contentsOfFile: "/proc/sys/kernel/shmmni", encoding: .utf8) == hostShm)
        // A sysctl the kernel does not have fails the start with the step named.
        try s.ok(["stop", "y1"])
        try s.ok(["config", "set", "y1", "linux.sysctl.net.ipv4.conf.eth9.forwarding=1"])
        try s.fails(["start", "y1"], "writing a sysctl (linux.sysctl.*) failed: ENOENT")
        try s.ok(["delete", "--force", "y1"])
    }
}
