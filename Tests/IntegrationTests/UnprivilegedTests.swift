import Foundation
import Testing

/// Unprivileged containers (`security.privileged=false`): their own user namespace and host id range,
/// the root filesystem seen through idmapped mounts (the files on disk keep the container's own ids,
/// nothing is chowned), the host's device nodes bound, cgroups delegated, and what root inside can no
/// longer do to the host. Root only.
@Suite(.serialized) struct UnprivilegedTests {
    init() throws {
        try #require(getuid() == 0, "the unprivileged-container tests boot real containers and must run as root")
    }

    /// "0 B 65536" of /proc/1/uid_map inside, as (B, count).
    static func range(_ s: Sandbox, _ name: String) throws -> (base: Int, count: Int) {
        let f = try s.ok(["exec", name, "--", "cat", "/proc/1/uid_map"]).split(whereSeparator: \.isWhitespace)
        #expect(f.count == 3 && f[0] == "0", "\(f)")
        return (Int(f.count == 3 ? f[1] : "") ?? -1, Int(f.count == 3 ? f[2] : "") ?? -1)
    }

    static func owner(_ path: String) -> (uid_t, gid_t)? {
        var st = stat()
        return lstat(path, &st) == 0 ? (st.st_uid, st.st_gid) : nil
    }

    @Test func ownRangeIdmappedRootfsAndFiles() throws {
        let s = try Sandbox.withoutNIC()
        for name in ["u1", "u2"] { try s.ok(["launch", "busybox", name, "-c", "security.privileged=false"]) }
        // Each its own 65536 ids, from 1000000 up, never overlapping.
        let r1 = try Self.range(s, "u1"), r2 = try Self.range(s, "u2")
        #expect(r1.count == 65536 && r2.count == 65536)
        #expect(r1.base >= 1_000_000 && r2.base >= 1_000_000)
        #expect(r1.base + r1.count <= r2.base || r2.base + r2.count <= r1.base, "\(r1) \(r2)")
        // Recorded as LXD does, and init runs as the range's first id on the host.
        #expect(try s.ok(["config", "get", "u1", "volatile.idmap.current"]).contains("\"Hostid\":\(r1.base),\"Nsid\":0,\"Maprange\":65536"))
        // list filters on the map like on any key.
        #expect(try s.ok(["list", "volatile.idmap.base=\(r1.base)", "--format", "csv,noheader"]).hasPrefix("u1,RUNNING"))
        #expect(try s.ok(["list", "security.privileged=false", "--format", "csv,noheader"]).split(separator: "\n").count == 2)
        let info = try s.ok(["info", "u1"])
        #expect(info.contains("Privileged: no\n"), "\(info)")
        #expect(info.contains("ID map:\n  uid 0-65535 -> host \(r1.base)-\(r1.base + 65535)\n  gid 0-65535 -> host \(r1.base)-\(r1.base + 65535)\n"), "\(info)")
        let initPid = try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/u1/init.pid", encoding: .utf8).split(separator: " ")[0]))
        #expect(Self.owner("/proc/\(initPid)")?.0 == uid_t(r1.base))
        // Inside, root owns its files; what it creates lands on disk with the container's own ids
        // (idmapped: nothing shifted, the image untouched).
        #expect(try s.ok(["exec", "u1", "--", "sh", "-c", "id -u; stat -c %u /bin/busybox"]) == "0\n0\n")
        try s.ok(["exec", "u1", "--", "sh", "-c", "echo x > /made; mkdir /home/u; chown 1000:1000 /home/u"])
        #expect(Self.owner(s.stateDir + "/containers/u1/upper/made").map { [$0.0, $0.1] } == [0, 0])
        #expect(Self.owner(s.stateDir + "/containers/u1/upper/home/u").map { [$0.0, $0.1] } == [1000, 1000])
        let image = try #require(try FileManager.default.contentsOfDirectory(atPath: s.stateDir + "/images").first)
        #expect(Self.owner(s.stateDir + "/images/\(image)/rootfs/bin/busybox").map { [$0.0, $0.1] } == [0, 0])
        // A user's process is that user's host id in the range.
        let status = try s.ok(["exec", "--user", "1000", "u1", "--", "cat", "/proc/self/status"])
        #expect(status.contains("Uid:\t1000\t1000\t1000\t1000"), "\(status)")

        // file push/pull work in the container's ids, running and stopped.
        let local = try s.write("hello.txt", "hello\n")
        try s.ok(["file", "push", local, "u1/root/hello.txt"])
        try s.ok(["file", "push", "--uid", "1000", "--gid", "1000", local, "u1/home/u/mine.txt"])
        #expect(try s.ok(["exec", "u1", "--", "stat", "-c", "%u:%g", "/root/hello.txt", "/home/u/mine.txt"]) == "0:0\n1000:1000\n")
        #expect(Self.owner(s.stateDir + "/containers/u1/upper/home/u/mine.txt").map { [$0.0, $0.1] } == [1000, 1000])
        #expect(try s.ok(["file", "pull", "u1/home/u/mine.txt", "-"]) == "hello\n")
        try s.fails(["file", "push", "--uid", "70000", local, "u1/root/x"], "uid 70000 does not exist in container u1")
        try s.ok(["stop", "u1"])
        try s.ok(["file", "push", local, "u1/root/stopped.txt"])
        try s.ok(["start", "u1"])
        #expect(try s.ok(["exec", "u1", "--", "stat", "-c", "%u:%g %s", "/root/stopped.txt"]) == "0:0 6\n")
        // The same range again at the next start.
        #expect(try Self.range(s, "u1").base == r1.base)
        // A map changed while stopped (the shared map now): nothing on disk depends on it, so the files
        // are still the container's own at once.
        try s.ok(["stop", "u1"])
        try s.ok(["config", "set", "u1", "security.idmap.isolated=false"])
        try s.ok(["start", "u1"])
        let shared = try Self.range(s, "u1")
        #expect(shared.base != r1.base && shared.base != r2.base && shared.count == 65536, "\(shared)")
        #expect(try s.ok(["exec", "u1", "--", "stat", "-c", "%u:%g", "/root/hello.txt", "/home/u/mine.txt", "/made"]) == "0:0\n1000:1000\n0:0\n")

        try s.ok(["delete", "--force", "u1", "u2"])
        #expect(s.leftovers() == [])
    }

    /// Switching a stopped container between privileged and unprivileged keeps its files as they were:
    /// no shifting (the same ids on disk), and a directory it replaced (an opaque one in its upper
    /// layer) stays replaced under either kind of overlay mount.
    @Test func switchingModesKeepsTheTree() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "m1", "-c", "security.privileged=true"])
        try s.ok(["exec", "m1", "--", "sh", "-c", "rm -rf /etc/init.d && mkdir /etc/init.d && echo mine > /etc/init.d/only && chown 1000 /etc/init.d/only"])
        #expect(try s.ok(["exec", "m1", "--", "ls", "/etc/init.d"]) == "only\n")
        for privileged in ["false", "true", "false"] {
            try s.ok(["stop", "m1"])
            try s.ok(["config", "set", "m1", "security.privileged=\(privileged)"])
            try s.ok(["start", "m1"])
            #expect(try s.ok(["exec", "m1", "--", "ls", "/etc/init.d"]) == "only\n", "privileged=\(privileged)")
            #expect(try s.ok(["exec", "m1", "--", "stat", "-c", "%u", "/etc/init.d/only"]) == "1000\n", "privileged=\(privileged)")
            let map = try s.ok(["exec", "m1", "--", "cat", "/proc/1/uid_map"]).split(whereSeparator: \.isWhitespace)
            #expect((map.count == 3 && map[1] == "0") == (privileged == "true"), "\(map)")
        }
        #expect(Self.owner(s.stateDir + "/containers/m1/upper/etc/init.d/only").map(\.0) == 1000)
        try s.ok(["delete", "--force", "m1"])
        #expect(s.leftovers() == [])
    }

    /// Disks of an unprivileged container: the host's files show with their host owners (`nobody` for
    /// ids outside its range) unless `shift=true` idmaps them (host root's files are its root's, and
    /// what it writes lands as host root's); `readonly=true` holds (and is refused with shift, which the
    /// kernel would not lock).
    @Test func disksWithAndWithoutShift() throws {
        let s = try Sandbox.withoutNIC()
        let shared = s.root + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try "host\n".write(toFile: shared + "/hello", atomically: true, encoding: .utf8)
        #expect(chown(shared + "/hello", 1000, 1000) == 0)
        // A host mount below the source: read-only (and locked) in the container too.
        try FileManager.default.createDirectory(atPath: shared + "/sub", withIntermediateDirectories: true)
        #expect(mount("tmpfs", shared + "/sub", "tmpfs", 0, "size=64k,mode=0777") == 0)
        defer { umount2(shared + "/sub", Int32(MNT_DETACH)) }
        try s.ok(["create", "busybox", "s1", "-c", "security.privileged=false"])
        try s.ok(["config", "device", "add", "s1", "plain", "disk", "source=\(shared)", "path=/mnt/plain"])
        try s.ok(["config", "device", "add", "s1", "shifted", "disk", "source=\(shared)", "path=/mnt/shifted", "shift=true"])
        try s.fails(
            ["config", "device", "add", "s1", "ro", "disk", "source=\(shared)", "path=/mnt/ro", "shift=true", "readonly=true"],
            "readonly=true with shift=true is refused")
        try s.ok(["config", "device", "add", "s1", "ro", "disk", "source=\(shared)", "path=/mnt/ro", "readonly=true"])
        try s.ok(["start", "s1"])
        func sh(_ command: String) throws -> RunResult { try s.run(["exec", "s1", "--", "sh", "-c", command]) }
        #expect(try sh("stat -c '%u:%g' /mnt/plain /mnt/plain/hello").stdout == "65534:65534\n65534:65534\n")
        #expect(try sh("touch /mnt/plain/x").status != 0)
        #expect(try sh("stat -c '%u:%g' /mnt/shifted /mnt/shifted/hello").stdout == "0:0\n1000:1000\n")
        #expect(try sh("cat /mnt/shifted/hello && echo mine > /mnt/shifted/made").stdout == "host\n")
        #expect(Self.owner(shared + "/made").map { [$0.0, $0.1] } == [0, 0])
        #expect(try sh("touch /mnt/ro/x").status != 0)
        #expect(!FileManager.default.fileExists(atPath: shared + "/x"))
        // Locked: the container's root cannot make it (or a host mount below it) writable again.
        for path in ["/mnt/ro", "/mnt/ro/sub"] {
            let remount = try sh("mount -o remount,rw,bind \(path)")
            // EPERM (busybox says "permission denied (are you root?)").
            #expect(remount.status != 0 && remount.stderr.lowercased().contains("permission denied"), "\(path): \(remount.stderr)")
        }
        #expect(try sh("touch /mnt/ro/x").status != 0)
        #expect(try sh("touch /mnt/ro/sub/x").status != 0)
        #expect(try sh("grep ' /mnt/ro' /proc/self/mountinfo | grep -c ' ro,'").stdout == "2\n")
        #expect(!FileManager.default.fileExists(atPath: shared + "/x") && !FileManager.default.fileExists(atPath: shared + "/sub/x"))
        // The staging is the monitor's own and gone once init runs: nothing on the host's mounts.
        let monitor = try #require(try String(contentsOfFile: s.stateDir + "/containers/s1/monitor.pid", encoding: .utf8).split(separator: " ").first)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(monitor)/ns/mnt") != FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt"))
        for table in ["/proc/self/mountinfo", "/proc/\(monitor)/mountinfo"] {
            #expect(try !String(contentsOfFile: table, encoding: .utf8).contains("/containers/s1/staging"), "\(table)")
        }
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/s1/staging"))
        try s.ok(["delete", "--force", "s1"])
        #expect(umount2(shared + "/sub", 0) == 0)
        #expect(s.leftovers() == [])
    }

    /// Every container's cgroup has LXC's device allow-list: a privileged root may make a node of a
    /// host disk but not open it; the standard devices work.
    @Test func deviceAllowList() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "p1", "-c", "security.privileged=true"])
        let r = try s.run(["exec", "p1", "--", "sh", "-c", "mknod /root/sda b 8 0 && head -c 1 /root/sda"])
        #expect(r.status != 0 && r.stderr.contains("Operation not permitted"), "\(r.stdout) \(r.stderr)")
        #expect(try s.ok(["exec", "p1", "--", "sh", "-c", "mknod /root/null c 1 3 && echo x > /root/null && head -c 2 /dev/zero | wc -c"]) == "2\n")
        let list = try String(contentsOfFile: "/sys/fs/cgroup/devices/sysbox/\(cgroupHash(s.stateDir))/p1/devices.list", encoding: .utf8)
        #expect(list.contains("c 1:3 rwm") && !list.contains("a *:* rwm"), "\(list)")
        try s.ok(["delete", "--force", "p1"])
        #expect(s.leftovers() == [])
    }

    /// security.nesting: namespaces made inside an unprivileged container may mount their own proc and
    /// sysfs only with it (the kernel wants a fully visible instance, which the masked ones are not).
    /// sysfs stays read-only (its superblock, shared with the container's /sys, is).
    @Test func nesting() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "n1", "-c", "security.privileged=false"])
        let nested = "unshare -U -r -m -p -f --mount-proc sh -c 'echo pid $$' && unshare -U -r -m -n sh -c 'mount -t sysfs -o ro sysfs /sys && echo sysfs'"
        #expect(try s.run(["exec", "n1", "--", "sh", "-c", nested]).status != 0)
        try s.ok(["config", "set", "n1", "security.nesting=true"])
        try s.ok(["restart", "n1", "--force"])
        #expect(try s.ok(["exec", "n1", "--", "sh", "-c", nested]) == "pid 1\nsysfs\n")
        try s.ok(["delete", "--force", "n1"])
        #expect(s.leftovers() == [])
    }

    /// The escape classes an unprivileged root cannot reach: host devices, kernel tunables, its own
    /// cgroup limits and release_agent.
    @Test func rootInsideIsNotHostRoot() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "e1", "-c", "security.privileged=false", "-c", "limits.memory=64MiB"])
        func fails(_ command: String) throws -> String {
            let r = try s.run(["exec", "e1", "--", "sh", "-c", command])
            #expect(r.status != 0, "\(command) succeeded: \(r.stdout)")
            return r.stderr
        }
        // mknod of a host disk: refused (a user namespace cannot make device nodes).
        #expect(try fails("mknod /tmp/sda b 8 0").contains("Operation not permitted"))
        // /dev's nodes are the host's, bound; they work.
        #expect(try s.ok(["exec", "e1", "--", "sh", "-c", "echo x > /dev/null && head -c 4 /dev/zero | wc -c"]) == "4\n")
        // Kernel tunables: not writable.
        _ = try fails("echo 1 > /proc/sys/kernel/panic")
        _ = try fails("echo 1 > /proc/sys/vm/drop_caches")
        // Its own limits: the limit file is host root's (nobody inside); release_agent neither.
        _ = try fails("echo 1073741824 > /sys/fs/cgroup/memory/memory.limit_in_bytes")
        #expect(try s.ok(["exec", "e1", "--", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) == "67108864\n")
        _ = try fails("mkdir -p /tmp/cg && mount -t cgroup -o memory cgroup /tmp/cg && echo /x > /tmp/cg/release_agent")
        // Nor can it swap a bound host node for one of its own.
        _ = try fails("umount /dev/null && mknod /dev/null c 1 3")
        try s.ok(["delete", "--force", "e1"])
        #expect(s.leftovers() == [])
    }

    /// The dir driver (the tree idmapped onto itself) and a NIC on a bridge.
    @Test func dirDriverAndNetwork() throws {
        let s = try Sandbox.withoutNIC()
        let net = "sbu" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(12))
        try s.ok(["network", "create", net])
        try s.ok(["profile", "device", "add", "default", "eth0", "nic", "network=\(net)"])
        let env = ["SYSBOX_STORAGE_DRIVER": "dir"]
        try s.ok(["launch", "busybox", "n1", "-c", "security.privileged=false"], env: env)
        #expect(try s.ok(["exec", "n1", "--", "sh", "-c", "touch /made && stat -c %u /made"], env: env) == "0\n")
        #expect(Self.owner(s.stateDir + "/containers/n1/rootfs/made").map { [$0.0, $0.1] } == [0, 0])
        let ip = try s.ok(["list", "n1", "--format", "csv,noheader"]).split(separator: ",")[2].split(separator: " ")[0]
        let gateway = ip.split(separator: ".").prefix(3).joined(separator: ".") + ".1"
        #expect(try s.run(["exec", "n1", "--", "ping", "-c", "1", "-W", "2", gateway]).status == 0)
        #expect(try s.ok(["exec", "n1", "--", "cat", "/proc/1/uid_map"]).split(whereSeparator: \.isWhitespace).first == "0")
        try s.ok(["delete", "--force", "n1"])
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        #expect(s.networkLeftovers() == [])
        #expect(s.leftovers() == [])
    }
}
