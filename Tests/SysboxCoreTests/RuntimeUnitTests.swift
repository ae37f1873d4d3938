import Foundation
import Testing
import Synchronization
@testable import SysboxCore

@Suite struct CgroupLayoutTests {
    static let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset,clone_children
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        50 23 0:40 / /proc rw - proc proc rw
        """
    static let unified = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"

    @Test func parsesHybridV1() {
        let layout = CgroupLayout.parse(mountinfo: Self.hybrid)
        #expect(layout.hierarchies.count == 7)
        #expect(!layout.isUnified)
        #expect(layout.hierarchies.first { $0.mountPoint == "/sys/fs/cgroup/cpuset" }?.controllers == ["cpuset"])
        #expect(layout.hierarchies.first { $0.mountPoint == "/sys/fs/cgroup/systemd" }?.controllers == ["name=systemd"])
        #expect(layout.hierarchies.first { $0.mountPoint == "/sys/fs/cgroup/unified" }?.isV2 == true)
        #expect(layout.hierarchy(with: "memory")?.mountPoint == "/sys/fs/cgroup/memory")
        #expect(layout.hierarchy(with: "blkio") == nil)
    }

    @Test func parsesPureV2() {
        let layout = CgroupLayout.parse(mountinfo: Self.unified)
        #expect(layout.isUnified)
        #expect(layout.hierarchy(with: "memory")?.mountPoint == "/sys/fs/cgroup")
    }

    @Test func containerMountsV1AndV2() {
        let v1 = ContainerCgroup(layout: CgroupLayout.parse(mountinfo: Self.hybrid), stateDirectory: "/x", name: "c1").containerMounts
        #expect(v1.first?.fstype == "tmpfs" && v1.first?.target == "sys/fs/cgroup")
        #expect(v1.contains { $0.target == "sys/fs/cgroup/systemd" && $0.options == "none,name=systemd" })
        #expect(v1.contains { $0.target == "sys/fs/cgroup/unified" && $0.fstype == "cgroup2" })
        #expect(v1.last?.fstype == nil && v1.last.map { $0.flags & UInt(MS_RDONLY) != 0 } == true)
        let v2 = ContainerCgroup(layout: CgroupLayout.parse(mountinfo: Self.unified), stateDirectory: "/x", name: "c1").containerMounts
        #expect(v2.count == 1 && v2[0].fstype == "cgroup2" && v2[0].target == "sys/fs/cgroup")
    }

    @Test func procCgroupOfInit() {
        let hybrid = CgroupLayout.parse(mountinfo: Self.hybrid)
        let text = "9:name=systemd:/sysbox/ab/c1/init.scope\n4:memory:/sysbox/ab/c1\n3:cpuset:/sysbox/ab/c1\n2:cpuacct:/\n0::/sysbox/ab/c1/init.scope\n7:blkio:/x\n"
        #expect(
            ContainerCgroup.parseProcCgroup(text, layout: hybrid)
                == ContainerCgroup.JoinTargets(
                    tasks: [
                        "/sys/fs/cgroup/systemd/sysbox/ab/c1/init.scope/tasks", "/sys/fs/cgroup/memory/sysbox/ab/c1/tasks",
                        "/sys/fs/cgroup/cpuset/sysbox/ab/c1/tasks", "/sys/fs/cgroup/cpuacct/tasks"
                    ],
                    v2Directory: "/sys/fs/cgroup/unified/sysbox/ab/c1/init.scope"))
        let v2 = CgroupLayout.parse(mountinfo: Self.unified)
        #expect(ContainerCgroup.parseProcCgroup("0::/sysbox/ab/c1\n", layout: v2) == ContainerCgroup.JoinTargets(tasks: [], v2Directory: "/sys/fs/cgroup/sysbox/ab/c1"))
        #expect(ContainerCgroup.parseProcCgroup("0::/../../etc\n", layout: v2) == ContainerCgroup.JoinTargets(tasks: [], v2Directory: nil))
    }

    @Test func pathsAreKeptApartPerStateDirectory() {
        let layout = CgroupLayout.parse(mountinfo: Self.unified)
        let a = ContainerCgroup(layout: layout, stateDirectory: "/var/lib/sysbox", name: "c1")
        let b = ContainerCgroup(layout: layout, stateDirectory: "/tmp/other", name: "c1")
        #expect(a.relative != b.relative)
        #expect(a.relative.hasPrefix("sysbox/") && a.relative.hasSuffix("/c1"))
        #expect(a.joinTargets == ContainerCgroup.JoinTargets(tasks: [], v2Directory: "/sys/fs/cgroup/\(a.relative)"))
        let hybrid = ContainerCgroup(layout: CgroupLayout.parse(mountinfo: Self.hybrid), stateDirectory: "/var/lib/sysbox", name: "c1")
        #expect(hybrid.joinTargets.tasks.contains("/sys/fs/cgroup/memory/\(hybrid.relative)/tasks"))
        #expect(hybrid.joinTargets.v2Directory == "/sys/fs/cgroup/unified/\(hybrid.relative)")
    }
}

/// The v2 path against a fake cgroup2 tree in a temporary directory (this host is v1).
@Suite struct CgroupV2FakeTests {
    func fakeRoot() throws -> String {
        let root = NSTemporaryDirectory() + "sysbox-cg2-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "cpuset cpu io memory hugetlb pids rdma misc\n".write(toFile: root + "/cgroup.controllers", atomically: true, encoding: .utf8)
        return root
    }

    @Test func createEnablesControllersAndWritesLimits() throws {
        let root = try fakeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = CgroupLayout(hierarchies: [CgroupHierarchy(mountPoint: root, controllers: [], isV2: true)])
        let cg = ContainerCgroup(layout: layout, stateDirectory: "/s", name: "web1")
        // A real cgroupfs makes the control files with each directory; the fake tree has them made
        // first (sysbox never creates a control file).
        let dir = root + "/" + cg.relative
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var level = root
        for part in cg.relative.split(separator: "/") {
            _ = FileManager.default.createFile(atPath: level + "/cgroup.subtree_control", contents: Data())
            try "cpuset cpu io memory hugetlb pids rdma misc\n".write(toFile: level + "/cgroup.controllers", atomically: true, encoding: .utf8)
            level += "/" + part
        }
        for file in ["memory.max", "cpu.max", "pids.max", "cpuset.cpus"] { _ = FileManager.default.createFile(atPath: dir + "/" + file, contents: Data()) }
        try cg.create()
        #expect(FileManager.default.fileExists(atPath: dir))
        // The root and every sysbox level enable the controllers for their children.
        #expect(try String(contentsOfFile: root + "/cgroup.subtree_control", encoding: .utf8) == "+cpu +cpuset +io +memory +pids")
        try cg.apply(CgroupLimits(memoryBytes: 536_870_912, cpuCount: 2, cpuSet: nil, pidsMax: 100))
        #expect(try String(contentsOfFile: dir + "/memory.max", encoding: .utf8) == "536870912")
        #expect(try String(contentsOfFile: dir + "/cpu.max", encoding: .utf8) == "200000 100000")
        #expect(try String(contentsOfFile: dir + "/pids.max", encoding: .utf8) == "100")
        try cg.apply(CgroupLimits(cpuSet: [0, 1, 3]))
        #expect(try String(contentsOfFile: dir + "/memory.max", encoding: .utf8) == "max")
        #expect(try String(contentsOfFile: dir + "/cpu.max", encoding: .utf8) == "max 100000")
        #expect(try String(contentsOfFile: dir + "/cpuset.cpus", encoding: .utf8) == "0-1,3")
        #expect(try String(contentsOfFile: dir + "/pids.max", encoding: .utf8) == "max")
        try "123456\n".write(toFile: dir + "/memory.current", atomically: true, encoding: .utf8)
        try "usage_usec 2500\nuser_usec 1\n".write(toFile: dir + "/cpu.stat", atomically: true, encoding: .utf8)
        try "7\n".write(toFile: dir + "/pids.current", atomically: true, encoding: .utf8)
        #expect(cg.stats() == CgroupStats(memoryBytes: 123456, cpuNanoseconds: 2_500_000, processes: 7))
    }
}

@Suite struct LimitsAndPlanTests {
    @Test func limitsFromConfig() throws {
        let l = try CgroupLimits(config: ["limits.memory": "50%", "limits.cpu": "0-1,3", "limits.processes": "50"], hostMemory: 1000)
        #expect(l == CgroupLimits(memoryBytes: 500, cpuCount: nil, cpuSet: [0, 1, 3], pidsMax: 50))
        #expect(try CgroupLimits(config: ["limits.cpu": "2"], hostMemory: 0).cpuCount == 2)
        #expect(try CgroupLimits(config: [:], hostMemory: 0) == CgroupLimits())
        #expect(CgroupLimits.cpuList([0, 1, 2, 5, 7, 8]) == "0-2,5,7-8")
    }

    @Test func signalsByName() throws {
        #expect(try Signals.number("SIGUSR2", what: "x") == SIGUSR2)
        #expect(try Signals.number("usr1", what: "x") == SIGUSR1)
        #expect(try Signals.number("SIGRTMIN+3", what: "x") == sysboxRTMin() + 3)
        #expect(try Signals.number("15", what: "x") == 15)
        #expect(throws: SysboxError.self) { try Signals.number("SIGBOGUS", what: "x") }
        #expect(throws: SysboxError.self) { try Signals.number("SIGRTMIN+99", what: "x") }
    }

    @Test func hardeningMask() {
        #expect(Hardening.dropMask == (1 << 16) | (1 << 17) | (1 << 25) | (1 << 32) | (1 << 33))
        #expect(Hardening.rebinds.first { $0.0 == "proc/sys/net" }?.1 == false)
    }

    @Test func planRoundTrips() throws {
        let plan = StartPlan(
            name: "c1", uuid: "u", initPath: "/sbin/init", initArgs: [], environment: ["container=sysbox"], stopSignal: 12,
            mounts: [
                StartPlan.Mount(.rootfs, "/r", source: "overlay", fstype: "overlay", options: "lowerdir=/a"),
                StartPlan.Mount(.bind, "mnt", source: "/s", flags: [.readonly, .nosuid], create: .directory, device: "d"),
                StartPlan.Mount(.file, "etc/hostname", content: "c1\n")
            ],
            limits: StartPlan.CgroupLimitsPlan(CgroupLimits(memoryBytes: 1)), ephemeral: false)
        let path = NSTemporaryDirectory() + "plan-\(UUID().uuidString).json"
        defer { unlink(path) }
        try plan.save(to: path)
        #expect(try StartPlan.load(from: path) == plan)
    }

    @Test func unreadablePlanIsAnError() throws {
        let path = NSTemporaryDirectory() + "plan-\(UUID().uuidString).json"
        defer { unlink(path) }
        try #"{"name": "c1", "rootfsPath": "/r", "disks": []}"#.write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SysboxError.self) { try StartPlan.load(from: path) }
    }

    /// `stop` of a container started by an earlier build (whose plan had disks/files, no mounts) still
    /// sends the image's stop signal, not SIGTERM (busybox init reboots on SIGTERM).
    @Test func stopSignalOfAnEarlierBuildsPlan() throws {
        let path = NSTemporaryDirectory() + "plan-\(UUID().uuidString).json"
        defer { unlink(path) }
        try
            #"{"name": "c1", "uuid": "u", "rootfsPath": "/r", "initPath": "/sbin/init", "initArgs": [], "environment": [], "stopSignal": 12, "disks": [], "files": [], "ephemeral": false}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SysboxError.self) { try StartPlan.load(from: path) }
        #expect(StartPlan.stopSignal(at: path) == SIGUSR2)
        #expect(StartPlan.stopSignal(at: path + ".missing") == nil)
    }
}

@Suite struct TemplateTests {
    @Test func shippedTemplatesParse() throws {
        let dir = repositoryRoot + "/Templates"
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where !name.hasSuffix(".md") {
            let path = "\(dir)/\(name)/template.yaml"
            let manifest = try TemplateManifest.parse(try String(contentsOfFile: path, encoding: .utf8), file: path)
            #expect(manifest.name == name)
        }
        let busybox = try TemplateManifest.parse(try String(contentsOfFile: dir + "/busybox/template.yaml", encoding: .utf8), file: "t")
        #expect(busybox.rendered(trigger: "start", variables: ["name": "web1"]).first { $0.0 == "/etc/hostname" }?.1 == "web1\n")
        #expect(busybox.initPath == "/sbin/init" && busybox.stopSignal == "SIGUSR2")
    }

    @Test func badManifests() {
        let base = "name: t\ndescription: d\naliases: [t]\nbuilder: busybox\ninit: /sbin/init\nstop_signal: SIGUSR2\n"
        #expect(throws: SysboxError.self) { try TemplateManifest.parse(base.replacingOccurrences(of: "builder: busybox", with: "builder: debootsrap"), file: "t") }
        #expect(throws: SysboxError.self) { try TemplateManifest.parse(base.replacingOccurrences(of: "init: /sbin/init", with: "init: sbin/init"), file: "t") }
        #expect(throws: SysboxError.self) { try TemplateManifest.parse(base.replacingOccurrences(of: "SIGUSR2", with: "SIGFOO"), file: "t") }
        #expect(throws: SysboxError.self) { try TemplateManifest.parse(base + "files:\n  /etc/../x:\n    when: [start]\n    content: x\n", file: "t") }
        #expect(throws: SysboxError.self) { try TemplateManifest.parse("name: t\n", file: "t") }
    }

    @Test func elfInterpreterDetection() throws {
        // /bin/sh on Debian is dynamically linked.
        #expect(BusyboxBuilder.hasInterpreter(FileManager.default.contents(atPath: "/bin/sh") ?? Data()))
        #expect(!BusyboxBuilder.hasInterpreter(Data("#!/bin/sh\n".utf8)))
    }
}

/// The host's real cgroup tree (root, as in CI): two state-directory-mates creating and removing their
/// cgroups at once. remove() rmdirs the empty sysbox parents, so the other one's mkdir can meet ENOENT
/// in the middle of its walk; create() must start again rather than fail a launch.
@Suite struct CgroupRaceTests {
    @Test func createSurvivesParentsRemovedConcurrently() throws {
        let layout = try CgroupLayout.host()
        let state = "/tmp/sysbox-cgrace-\(UUID().uuidString.prefix(8))"
        let a = ContainerCgroup(layout: layout, stateDirectory: state, name: "a")
        let b = ContainerCgroup(layout: layout, stateDirectory: state, name: "b")
        defer { try? a.remove(); try? b.remove() }
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let cg = i == 0 ? a : b
            for _ in 0..<400 {
                do { try cg.create(); try cg.remove() } catch { failures.withLock { $0.append("\(error)") }; return }
            }
        }
        #expect(failures.withLock { $0 } == [])
        for h in layout.hierarchies {
            #expect(!FileManager.default.fileExists(atPath: h.mountPoint + "/sysbox/" + ContainerCgroup.hash(state)))
        }
    }
}
