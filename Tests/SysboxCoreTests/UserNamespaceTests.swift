import CSysbox
import Foundation
import Testing
@testable import SysboxCore

/// The pure parts of unprivileged containers: how a running container's ids translate (its
/// /proc/PID/uid_map), and which cgroup files its root gets (a fake v1 + v2 tree on disk).
@Suite struct UserNamespaceTests {
    @Test func idsOfARangeTranslateBothWays() {
        let ids = ContainerIDs(
            uidMap: "         0    1065536      65536\n",
            gidMap: "0 1065536 1000\n1000 1000 1\n1001 1066537 64535\n")
        #expect(ids.hostUID(0) == 1_065_536)
        #expect(ids.hostUID(65535) == 1_131_071)
        #expect(ids.hostUID(65536) == nil)
        #expect(ids.containerUID(1_065_537) == 1)
        #expect(ids.containerUID(0) == 65534)  // host root shows as nobody
        #expect(ids.hostGID(1000) == 1000)  // raw.idmap-style hole
        #expect(ids.hostGID(1001) == 1_066_537)
        #expect(ids.containerGID(1000) == 1000)
        #expect(throws: SysboxError.self) { try ids.hostOwner(uid: 70000, gid: 0, container: "c1") }
        #expect(!ids.isIdentity)
    }

    @Test func theInitialNamespaceIsTheIdentity() {
        let ids = ContainerIDs(uidMap: "0 0 4294967295\n", gidMap: "0 0 4294967295\n")
        #expect(ids.isIdentity)
        #expect(ids.hostUID(1234) == 1234)
        #expect(ids.containerGID(99) == 99)
    }

    /// The container's directories and the files that move processes and enable controllers belong to
    /// its root; the limit files stay host root's.
    @Test func delegationChownsOnlyWhatItShould() throws {
        let base = FileManager.default.temporaryDirectory.path + "/sysbox-delegate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let layout = CgroupLayout(hierarchies: [
            CgroupHierarchy(mountPoint: base + "/memory", controllers: ["memory"], isV2: false),
            CgroupHierarchy(mountPoint: base + "/cpuset", controllers: ["cpuset"], isV2: false),
            CgroupHierarchy(mountPoint: base + "/unified", controllers: [], isV2: true)
        ])
        let cgroup = ContainerCgroup(layout: layout, stateDirectory: "/s", name: "c1")
        let files: [String: [String]] = [
            "memory": ["tasks", "cgroup.procs", "memory.limit_in_bytes"],
            "cpuset": ["tasks", "cgroup.procs", "cpuset.cpus", "cgroup.clone_children"],
            "unified": ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "memory.reclaim", "memory.max"]
        ]
        for (h, names) in files {
            let dir = base + "/" + h + "/" + cgroup.relative
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for n in names { #expect(FileManager.default.createFile(atPath: dir + "/" + n, contents: Data("0".utf8))) }
        }
        try cgroup.delegate(uid: 1_065_536, gid: 1_065_537, delegateList: ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "memory.reclaim"])
        func owner(_ h: String, _ file: String?) -> (uid_t, gid_t) {
            var st = stat()
            let path = base + "/" + h + "/" + cgroup.relative + (file.map { "/" + $0 } ?? "")
            _ = stat(path, &st)
            return (st.st_uid, st.st_gid)
        }
        for h in ["memory", "cpuset", "unified"] { #expect(owner(h, nil) == (1_065_536, 1_065_537)) }
        #expect(owner("memory", "tasks") == (1_065_536, 1_065_537))
        #expect(owner("memory", "cgroup.procs") == (1_065_536, 1_065_537))
        #expect(owner("memory", "memory.limit_in_bytes") == (0, 0))
        #expect(owner("cpuset", "cpuset.cpus") == (0, 0))
        #expect((try? String(contentsOfFile: base + "/cpuset/" + cgroup.relative + "/cgroup.clone_children", encoding: .utf8)) == "1")
        for f in ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "memory.reclaim"] { #expect(owner("unified", f) == (1_065_536, 1_065_537)) }
        #expect(owner("unified", "memory.max") == (0, 0))
    }
}

/// Overlay markers follow the mount kind: missing ones are copied from the other kind, present ones
/// are kept, files and links are never touched.
@Suite struct OverlayMarkerTests {
    @Test func copiesMissingMarkersOfTheOtherKind() throws {
        let upper = FileManager.default.temporaryDirectory.path + "/sysbox-markers-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: upper) }
        try FileManager.default.createDirectory(atPath: upper + "/etc/init.d", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: upper + "/var/both", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: upper + "/file", contents: Data()))
        func set(_ path: String, _ name: String, _ value: String) { #expect(setxattr(upper + path, name, value, value.utf8.count, 0) == 0) }
        func get(_ path: String, _ name: String) -> String? {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = getxattr(upper + path, name, &buffer, buffer.count)
            return n < 0 ? nil : String(decoding: buffer.prefix(n), as: UTF8.self)
        }
        set("/etc/init.d", "trusted.overlay.opaque", "y")
        set("/var/both", "trusted.overlay.opaque", "y")
        set("/var/both", "user.overlay.opaque", "x")
        set("/file", "trusted.overlay.origin", "o")
        #expect(try OverlayMarkers.sync(upper: upper, to: .user) == 1)
        #expect(get("/etc/init.d", "user.overlay.opaque") == "y")
        #expect(get("/var/both", "user.overlay.opaque") == "x")
        #expect(get("/file", "user.overlay.origin") == nil)
        #expect(try OverlayMarkers.sync(upper: upper, to: .user) == 0)
        #expect(OverlayMarkers.stamped(upper) == .user)
        // Stamped: a start in the same mode skips the walk (a marker of the other kind made behind
        // sysbox's back is not seen); without the stamp, the walk finds it.
        try FileManager.default.createDirectory(atPath: upper + "/late", withIntermediateDirectories: true)
        set("/late", "trusted.overlay.opaque", "y")
        #expect(try OverlayMarkers.sync(upper: upper, to: .user) == 0)
        #expect(get("/late", "user.overlay.opaque") == nil)
        #expect(removexattr(upper, OverlayMarkers.stamp) == 0)
        #expect(try OverlayMarkers.sync(upper: upper, to: .user) == 1)
        #expect(get("/late", "user.overlay.opaque") == "y")
        #expect(try OverlayMarkers.sync(upper: upper, to: .trusted) == 0)
        #expect(OverlayMarkers.stamped(upper) == .trusted)
        #expect(try OverlayMarkers.sync(upper: upper + "/missing", to: .user) == 0)
    }
}

/// A user namespace that cannot be set up says why and how to get past it.
@Suite struct UserNamespaceFailureTests {
    @Test func idmapAndUsernsFailuresNameTheFix() {
        let idmap = Spawner.userNamespaceFailure(ChildFailure(step: Int32(sysbox_step.SYSBOX_STEP_IDMAP.rawValue), errno: EINVAL), container: "c1")
        #expect("\(idmap)".contains("attaching an idmapped mount failed: EINVAL"))
        #expect((idmap as? SysboxError)?.message.contains("sysbox config set c1 security.privileged=true") == true)
        let userns = Spawner.userNamespaceFailure(ChildFailure(step: Int32(sysbox_step.SYSBOX_STEP_USERNS.rawValue), errno: ENOSPC), container: "c1")
        #expect((userns as? SysboxError)?.message.contains("user.max_user_namespaces") == true)
        let other = Spawner.userNamespaceFailure(ChildFailure(step: Int32(sysbox_step.SYSBOX_STEP_MKNOD.rawValue), errno: EPERM), container: "c1")
        #expect(other is ChildFailure)
    }
}

/// The cgroup2 device program: golden instructions for two rules, and the kernel running it (root: a
/// cgroup2 directory of its own under the host's cgroup2 mount, a shell moved into it).
@Suite struct DeviceProgramTests {
    @Test func rulesParseAndBuild() throws {
        #expect(DeviceProgram.Rule("c 1:3 rwm") != nil && DeviceProgram.Rule("b *:* m")?.major == nil)
        #expect(DeviceProgram.Rule("a *:* rwm") == nil && DeviceProgram.Rule("c 1:x r") == nil && DeviceProgram.Rule("c 1:3 q") == nil)
        let program = DeviceProgram.build([try #require(DeviceProgram.Rule("c 1:3 rw"))])
        // 6 loads and shifts, a block of 8 (type, major, minor, access check, allow), 2 to deny.
        #expect(program.count == (6 + 8 + 2) * 8)
        // The block's first jump (type != 2) skips the 7 instructions after it.
        #expect(Array(program[48..<56]) == [0x55, 0x03, 7, 0, 2, 0, 0, 0])
        // The access check: r0 &= ~(read|write) = 0xfffffff9.
        #expect(Array(program[80..<88]) == [0x57, 0x00, 0, 0, 0xf9, 0xff, 0xff, 0xff])
        #expect(Array(program.suffix(16)) == [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func theKernelEnforcesIt() throws {
        guard getuid() == 0, let v2 = (try? CgroupLayout.host())?.hierarchies.first(where: \.isV2) else {
            Issue.record("needs root and a cgroup2 mount")
            return
        }
        let dir = v2.mountPoint + "/sysbox-devtest-\(getpid())"
        #expect(mkdir(dir, 0o755) == 0)
        defer { rmdir(dir) }
        let program = DeviceProgram.build(ContainerCgroup.allowedDevices.compactMap(DeviceProgram.Rule.init))
        #expect(program.withUnsafeBufferPointer { sysbox_cgroup_device_program(dir, $0.baseAddress, UInt32($0.count)) } == 0)
        let scratch = NSTemporaryDirectory() + "sysbox-devtest-\(getpid())"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = [
            "-c",
            "echo $$ > \(dir)/cgroup.procs && mknod \(scratch)/disk b 8 0 && mknod \(scratch)/null c 1 3 && echo x > \(scratch)/null && echo null-ok; head -c 1 \(scratch)/disk 2>&1; exit 0"
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        p.waitUntilExit()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(text.contains("null-ok") && text.contains("Operation not permitted"), "\(text)")
    }
}
