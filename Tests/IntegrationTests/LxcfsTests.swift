import Foundation
import Testing

/// Issue 15 item 2, through the binary in real busybox containers: lxcfs's /proc and /sys views bound
/// into each container (memory and CPU limits, the container's uptime), `security.lxcfs=false`, lxcfs
/// missing (a one-time notice), and lxcfs dying under running containers. Each test runs an lxcfs of
/// its own (`SYSBOX_LXCFS_DIR` under the sandbox) and stops it (its process, then its mount).
@Suite(.serialized) struct LxcfsTests {
    init() throws {
        try #require(getuid() == 0, "the lxcfs tests boot real containers and must run as root")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/lxcfs"), "lxcfs is missing: run scripts/setup.sh")
    }

    /// A sandbox whose sysbox runs its own lxcfs at ROOT/lxcfs.
    struct Box {
        let s: Sandbox
        var mountPoint: String { s.root + "/lxcfs" }
        var env: [String: String] { ["SYSBOX_LXCFS_DIR": mountPoint] }

        init() throws { s = try Sandbox.withoutNIC() }

        @discardableResult
        func ok(_ args: [String]) throws -> String { try s.ok(args, env: env) }
        func run(_ args: [String]) throws -> RunResult { try s.run(args, env: env) }

        /// The pid of its lxcfs (from MOUNT.pid), nil when none runs.
        var pid: Int32? {
            guard let text = try? String(contentsOfFile: mountPoint + ".pid", encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                return nil
            }
            return kill(pid, 0) == 0 ? pid : nil
        }

        /// Ends its lxcfs (only that process) and removes its mount.
        func stopLxcfs() {
            if let pid { kill(pid, SIGTERM) }
            try? waitUntil { pid == nil }
            umount2(mountPoint, Int32(MNT_DETACH))
        }
    }

    func number(_ text: String) -> Double { Double(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1 }

    @Test(arguments: ["true", "false"]) func viewsFollowTheLimits(privileged: String) throws {
        let b = try Box()
        defer { b.stopLxcfs() }
        try b.ok(["launch", "busybox", "v1", "-c", "security.privileged=\(privileged)", "-c", "limits.memory=256MiB", "-c", "limits.cpu=1"])
        #expect(b.pid != nil)
        // /proc/meminfo from the container's memory limit (256 MiB: 262144 kB). busybox's free asks
        // sysinfo(2), which lxcfs cannot change (procps's free, in the Debian test, reads the file).
        #expect(try b.ok(["exec", "v1", "--", "head", "-n", "1", "/proc/meminfo"]) == "MemTotal:         262144 kB\n")
        // limits.cpu=1 is a CFS quota: lxcfs (--enable-cfs) shows one CPU.
        #expect(try b.ok(["exec", "v1", "--", "grep", "-c", "^processor", "/proc/cpuinfo"]) == "1\n")
        #expect(try b.ok(["exec", "v1", "--", "cat", "/sys/devices/system/cpu/online"]) == "0\n")
        // The container's uptime (seconds since its init started), not the host's.
        let uptime = number(try b.ok(["exec", "v1", "--", "sh", "-c", "cut -d' ' -f1 /proc/uptime"]))
        let host = number(String(decoding: readProc("/proc/uptime"), as: UTF8.self).split(separator: " ").first.map(String.init) ?? "")
        #expect(uptime >= 0 && uptime < 60 && (host > 120 ? uptime < host - 60 : true), "uptime \(uptime), host \(host)")
        // Each file is bound read-only from lxcfs; the others answer too.
        let binds = try b.ok(["exec", "v1", "--", "grep", "-c", "fuse.lxcfs", "/proc/self/mountinfo"])
        #expect(number(binds) >= 7, "lxcfs binds: \(binds)")
        for file in ["/proc/stat", "/proc/loadavg", "/proc/diskstats", "/proc/swaps"] {
            #expect(try b.run(["exec", "v1", "--", "cat", file]).status == 0, "\(file)")
        }
        #expect(try b.run(["exec", "v1", "--", "sh", "-c", "echo x > /proc/meminfo"]).status != 0)
        // Live limit changes show at once (lxcfs reads the cgroup at each read).
        try b.ok(["config", "set", "v1", "limits.memory=128MiB"])
        #expect(try b.ok(["exec", "v1", "--", "head", "-n", "1", "/proc/meminfo"]) == "MemTotal:         131072 kB\n")
        try b.ok(["delete", "--force", "v1"])
        b.stopLxcfs()
        #expect(b.s.leftovers() == [])
    }

    @Test func switchedOff() throws {
        let b = try Box()
        defer { b.stopLxcfs() }
        try b.ok(["launch", "busybox", "n1", "-c", "security.lxcfs=false", "-c", "limits.memory=256MiB"])
        #expect(try b.run(["exec", "n1", "--", "grep", "-q", "fuse.lxcfs", "/proc/self/mountinfo"]).status == 1)
        let host = String(decoding: readProc("/proc/meminfo"), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        #expect(try b.ok(["exec", "n1", "--", "head", "-n", "1", "/proc/meminfo"]) == host + "\n")
        // Nothing started for it.
        #expect(b.pid == nil)
        try b.s.fails(["config", "set", "n1", "security.lxcfs=maybe"], "security.lxcfs", env: b.env)
        try b.ok(["delete", "--force", "n1"])
        #expect(b.s.leftovers() == [])
    }

    @Test func missingLxcfsGivesOneNotice() throws {
        let b = try Box()
        defer { b.stopLxcfs() }
        // No lxcfs on PATH: containers start without it, and the notice shows once per state directory.
        let env = b.env.merging(["PATH": "/nonexistent"]) { _, new in new }
        try b.ok(["init", "busybox", "a1"])
        try b.ok(["init", "busybox", "a2"])
        let first = try b.s.run(["start", "a1"], env: env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("lxcfs is not installed"), "\(first.stderr)")
        #expect(try b.s.run(["exec", "a1", "--", "grep", "-q", "fuse.lxcfs", "/proc/self/mountinfo"]).status == 1)
        let second = try b.s.run(["start", "a2"], env: env)
        #expect(second.status == 0 && !second.stderr.contains("lxcfs"), "\(second.stderr)")
        #expect(b.pid == nil)
        try b.ok(["delete", "--force", "a1", "a2"])
        #expect(b.s.leftovers() == [])
    }

    /// lxcfs dies under a running container: the container keeps running and every other file works;
    /// the bound files fail with ENOTCONN until the container restarts. The next start brings lxcfs back.
    @Test func lxcfsDyingFailsSoft() throws {
        let b = try Box()
        defer { b.stopLxcfs() }
        try b.ok(["launch", "busybox", "f1", "-c", "limits.memory=256MiB"])
        let old = try #require(b.pid)
        kill(old, SIGKILL)
        try waitUntil { kill(old, 0) != 0 }
        let dead = try b.run(["exec", "f1", "--", "cat", "/proc/meminfo"])
        #expect(dead.status != 0 && dead.stderr.contains("Transport endpoint is not connected"), "\(dead.stderr)")
        #expect(try b.ok(["exec", "f1", "--", "cat", "/proc/self/status"]).contains("Name:"))
        #expect(try b.ok(["list", "--format", "csv,noheader"]).hasPrefix("f1,RUNNING,"))
        // A reboot from inside meanwhile boots with the kernel's own files (the dead binds left out).
        let boot = try b.ok(["exec", "f1", "--", "cut", "-d", " ", "-f", "22", "/proc/1/stat"])
        _ = try b.run(["exec", "f1", "--", "reboot"])
        try waitUntil(seconds: 20) {
            let r = try b.run(["exec", "f1", "--", "cut", "-d", " ", "-f", "22", "/proc/1/stat"])
            return r.status == 0 && r.stdout != boot
        }
        let host = String(decoding: readProc("/proc/meminfo"), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        #expect(try b.ok(["exec", "f1", "--", "head", "-n", "1", "/proc/meminfo"]) == host + "\n")
        // The next start sees the dead mount and starts lxcfs again.
        try b.ok(["launch", "busybox", "f2", "-c", "limits.memory=256MiB"])
        let new = try #require(b.pid)
        #expect(new != old)
        #expect(try b.ok(["exec", "f2", "--", "head", "-n", "1", "/proc/meminfo"]) == "MemTotal:         262144 kB\n")
        // f1 gets the new lxcfs when it restarts.
        try b.ok(["restart", "--force", "f1"])
        #expect(try b.ok(["exec", "f1", "--", "head", "-n", "1", "/proc/meminfo"]).contains("262144 kB"))
        try b.ok(["delete", "--force", "f1", "f2"])
        b.stopLxcfs()
        #expect(b.s.leftovers() == [])
    }
}
