import CSysbox
import Foundation
import Testing
@testable import SysboxCore

/// The start plan, as the pure planner builds it, against golden JSON (Tests/Golden/*.json, outside
/// the test target so that SwiftPM does not take them for resources): the order and
/// kinds of the mounts are what the kernel sees, so any change to them must show here. To accept an
/// intended change, run with SYSBOX_UPDATE_GOLDEN=1 and review the diff of the golden files.
@Suite struct StartPlanGoldenTests {
    static let goldenDirectory = repositoryRoot + "/Tests/Golden"

    static let hybrid = CgroupLayout.parse(mountinfo: CgroupLayoutTests.hybrid)
    static let unified = CgroupLayout.parse(mountinfo: "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n")

    static func manifest(cgroup: String? = nil, networkd: Bool = false) -> TemplateManifest {
        TemplateManifest(
            name: "t", description: "test", aliases: [], builder: "busybox", options: nil, initPath: "/sbin/init", stopSignal: "SIGRTMIN+3",
            files: [
                "/etc/hostname": .init(when: ["create", "start"], content: "{{ name }}\n"),
                "/etc/machine-id": .init(when: ["start"], content: "{{ machine_id }}\n"),
                "/etc/motd": .init(when: ["create"], content: "not at start\n")
            ],
            networkConfig: networkd ? "systemd-networkd" : nil, ready: nil, cgroup: cgroup)
    }

    static let nic = StartPlan.Nic(
        device: "eth0", name: "eth0", hostName: "sbx00000001", hwaddr: "00:16:3e:00:00:01", address: "10.0.5.2",
        prefix: 24, gateway: "10.0.5.1", bridge: "lab", defaultRoute: true)

    /// A container with two disks (a read-only directory below a writable one, given in the wrong order,
    /// and a file), a NIC, limits and an environment, on an overlay rootfs.
    static func input(
        layout: CgroupLayout = hybrid, manifest: TemplateManifest = manifest(), nics: [StartPlan.Nic] = [nic],
        rootfs: RootfsMount = RootfsMount(
            path: "/var/lib/sysbox/containers/c1/rootfs", fstype: "overlay",
            options: "lowerdir=/l,upperdir=/u,workdir=/w")
    ) -> StartPlanner.Input {
        StartPlanner.Input(
            name: "c1",
            config: [
                "volatile.uuid": "0A1B2C3D-0000-4000-8000-00000000ABCD", "environment.LANG": "C.UTF-8", "environment.A": "1",
                "limits.memory": "256MiB", "user.note": "not in the environment"
            ],
            devices: [
                "root": ["type": "disk", "path": "/", "pool": "default"],
                "inner": ["type": "disk", "path": "/mnt/data/inner", "source": "/srv/inner", "readonly": "true"],
                "data": ["type": "disk", "path": "/mnt/data", "source": "/srv/data"],
                "conf": ["type": "disk", "path": "/etc/app.conf", "source": "/srv/app.conf", "readonly": "yes"],
                "eth0": ["type": "nic", "network": "lab"]
            ],
            ephemeral: false, template: "t", manifest: manifest, rootfs: rootfs, nics: nics, domain: nics.isEmpty ? nil : "lab",
            cgroupLayout: layout,
            sources: [
                "/srv/inner": .present(isDirectory: true, mountFlags: UInt64(MS_NOSUID | MS_NODEV)),
                "/srv/data": .present(isDirectory: true, mountFlags: 0),
                "/srv/app.conf": .present(isDirectory: false, mountFlags: UInt64(MS_NOEXEC))
            ],
            maskFile: "/run/sysbox/mask-file", hostMemory: 8 << 30)
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }

    /// Compares with Tests/Golden/NAME.json (rewritten instead with SYSBOX_UPDATE_GOLDEN=1).
    static func expectGolden(_ plan: StartPlan, _ name: String) throws {
        let path = goldenDirectory + "/\(name).json"
        let text = try json(plan)
        if ProcessInfo.processInfo.environment["SYSBOX_UPDATE_GOLDEN"] == "1" {
            try FileManager.default.createDirectory(atPath: goldenDirectory, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let golden = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == golden, "the start plan changed (\(path)); if intended, run with SYSBOX_UPDATE_GOLDEN=1 and review the diff")
    }

    @Test func hybridHostOverlayRootfs() throws {
        try Self.expectGolden(try StartPlanner.plan(Self.input()), "plan-hybrid")
    }

    @Test func unifiedViewBindRootfsNetworkd() throws {
        let input = Self.input(
            layout: Self.hybrid, manifest: Self.manifest(cgroup: "unified", networkd: true),
            rootfs: RootfsMount(path: "/var/lib/sysbox/containers/c1/rootfs", fstype: nil, options: nil))
        try Self.expectGolden(try StartPlanner.plan(input), "plan-unified-view")
    }

    @Test func pureV2HostNoNIC() throws {
        try Self.expectGolden(try StartPlanner.plan(Self.input(layout: Self.unified, nics: [])), "plan-v2-no-nic")
    }

    /// start.json is the compact form (one line, sorted keys, unescaped slashes) and reads back as the
    /// very plan the golden file describes: the on-disk encoding may differ from the golden files'
    /// pretty form, never the plan.
    @Test func savedPlanIsCompactAndDecodesToTheGoldenPlan() throws {
        let plan = try StartPlanner.plan(Self.input())
        let golden = try JSONDecoder().decode(StartPlan.self, from: Data(contentsOf: URL(fileURLWithPath: Self.goldenDirectory + "/plan-hybrid.json")))
        #expect(golden == plan)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sysbox-plan-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/start.json"
        try plan.save(to: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("\n"))
        #expect(!text.contains("\\/"))
        #expect(try StartPlan.load(from: path) == golden)
        #expect(StartPlan.stopSignal(at: path) == golden.stopSignal)
        // The same plan, the same bytes; and well under the pretty form's size.
        #expect(try plan.encoded() == golden.encoded())
        #expect(text.utf8.count < (try Self.json(plan)).utf8.count * 2 / 3)
    }

    /// The fixed skeleton, spelled out: a change of order or kind fails here even if the golden files
    /// were regenerated without a look.
    @Test func orderOfKinds() throws {
        let plan = try StartPlanner.plan(Self.input(layout: Self.unified, nics: []))
        let kinds = plan.mounts.map(\.kind.rawValue)
        let expected =
            ["rootfs", "directory", "directory", "directory", "proc", "sysfs", "tmpfs"]
            + Array(repeating: "dev-node", count: 6) + ["devpts", "tmpfs", "mqueue"] + Array(repeating: "symlink", count: 5)
            + ["console", "tmpfs", "bind", "bind", "bind"] + Array(repeating: "mask-file", count: 7) + Array(repeating: "mask-dir", count: 5)
            + ["file", "file", "file"] + Array(repeating: "rebind", count: 6) + ["release", "cgroup"]
        #expect(kinds == expected)
        #expect(plan.mounts.filter { $0.kind == .bind }.map(\.target) == ["etc/app.conf", "mnt/data", "mnt/data/inner"])
        #expect(plan.mounts.filter { $0.kind == .file }.map(\.target) == ["etc/hostname", "etc/machine-id", "run/host/container-manager"])
    }

    @Test func missingDiskSourceIsAnError() throws {
        var input = Self.input()
        input.sources["/srv/data"] = .missing(errno: ENOENT)
        #expect { try StartPlanner.plan(input) } throws: { error in
            (error as? SysboxError)?.message.contains("device data: source /srv/data does not exist on the host (ENOENT") == true
        }
    }

    @Test func unifiedViewNeedsCgroup2() throws {
        let v1Only = CgroupLayout(hierarchies: Self.hybrid.hierarchies.filter { !$0.isV2 })
        let input = Self.input(layout: v1Only, manifest: Self.manifest(cgroup: "unified"))
        #expect(throws: SysboxError.self) { try StartPlanner.plan(input) }
    }

    static let userNamespace = StartPlan.UserNamespace(
        uidMap: "0 1065536 65536\n", gidMap: "0 1065536 65536\n", rootUID: 1_065_536, rootGID: 1_065_536)

    /// Unprivileged, overlay: the container's directory and the image idmapped, the overlay made from
    /// inside the user namespace; /dev's nodes bound from the host (no mknod).
    @Test func unprivilegedOverlayRootfs() throws {
        var input = Self.input(
            rootfs: RootfsMount(
                path: "/var/lib/sysbox/containers/c1/rootfs", fstype: "overlay", options: "lowerdir=/l,upperdir=/u,workdir=/w", lower: "/l"))
        input.userNamespace = Self.userNamespace
        try Self.expectGolden(try StartPlanner.plan(input), "plan-unprivileged-overlay")
    }

    /// Unprivileged, dir or btrfs: the tree idmapped onto itself and entered.
    @Test func unprivilegedTreeRootfs() throws {
        var input = Self.input(rootfs: RootfsMount(path: "/var/lib/sysbox/containers/c1/rootfs"))
        input.userNamespace = Self.userNamespace
        let plan = try StartPlanner.plan(input)
        #expect(
            Array(plan.mounts.prefix(2)) == [
                StartPlan.Mount(.idmapped, "/var/lib/sysbox/containers/c1/rootfs", source: "/var/lib/sysbox/containers/c1/rootfs"),
                StartPlan.Mount(.rootfs, "/var/lib/sysbox/containers/c1/rootfs", source: "idmapped")
            ])
        #expect(!plan.mounts.contains { $0.kind == .devNode })
        #expect(plan.userNamespace == Self.userNamespace)
    }

    /// Every kind has its own C kind, and every entry a failure step.
    @Test func kindsMatchTheCEnum() {
        let c = StartPlan.Mount.Kind.allCases.map { Spawner.entryKind($0).rawValue }
        #expect(Set(c).count == StartPlan.Mount.Kind.allCases.count)
        #expect(StartPlan.Mount.Kind.allCases.count == Int(sysbox_entry_kind.SYSBOX_ENTRY_IDMAPPED.rawValue))
    }

    @Test func failureStepsStayWhatTheySay() throws {
        let plan = try StartPlanner.plan(Self.input())
        func step(_ target: String, _ kind: StartPlan.Mount.Kind) -> sysbox_step? {
            plan.mounts.first { $0.target == target && $0.kind == kind }.map(Spawner.step(of:))
        }
        #expect(step("dev", .tmpfs) == .SYSBOX_STEP_MOUNT_DEV)
        #expect(step("dev/shm", .tmpfs) == .SYSBOX_STEP_MOUNT_SHM)
        #expect(step("run", .tmpfs) == .SYSBOX_STEP_MOUNT_RUN)
        #expect(step("sys/fs/cgroup", .tmpfs) == .SYSBOX_STEP_MOUNT_CGROUP)
        #expect(step("sys", .directory) == .SYSBOX_STEP_MOUNT_SYS)
        #expect(step("mnt/data", .bind) == .SYSBOX_STEP_MOUNT_DISK)
        #expect(step("proc/kcore", .maskFile) == .SYSBOX_STEP_MASK)
    }
}

/// The Swift–C protocols: one source each.
@Suite struct SwiftCProtocolTests {
    @Test func stepNamesComeFromC() {
        #expect(ChildFailure(step: Int32(sysbox_step.SYSBOX_STEP_MOUNT_PROC.rawValue), errno: EPERM).stepName == "mounting /proc")
        #expect(ChildFailure(step: 99, errno: EPERM).stepName == "step 99")
        #expect(ChildFailure(step: 24, errno: ENOENT).kind == .SYSBOX_STEP_EXEC)
    }

    static func failure(_ step: sysbox_step, _ err: Int32) -> ExecFailure {
        ContainerExec.execFailure(step: Int32(step.rawValue), errno: err, command: "ls", container: "c1", cwd: "/tmp")
    }

    @Test func execFailureCodes() {
        #expect(Self.failure(.SYSBOX_STEP_EXEC, ENOENT).exitCode == 127)
        #expect(Self.failure(.SYSBOX_STEP_EXEC, ENOENT).message == "command \"ls\" not found in container c1")
        #expect(Self.failure(.SYSBOX_STEP_EXEC, ENOTDIR).exitCode == 127)
        #expect(Self.failure(.SYSBOX_STEP_EXEC, EACCES).exitCode == 126)
        #expect(Self.failure(.SYSBOX_STEP_EXEC, EACCES).message == "command \"ls\" cannot be run in container c1: EACCES (Permission denied)")
        #expect(Self.failure(.SYSBOX_STEP_CHDIR, ENOENT).message == "cannot use --cwd /tmp in container c1: ENOENT (No such file or directory)")
        // A directory sysbox chose (the home, or the fast path's cache) is not called --cwd.
        let chosen = ContainerExec.execFailure(
            step: Int32(sysbox_step.SYSBOX_STEP_CHDIR.rawValue), errno: ENOENT, command: "ls", container: "c1", cwd: "/root", cwdGiven: false)
        #expect(chosen.exitCode == 125)
        #expect(chosen.message == "cannot enter the working directory /root in container c1: ENOENT (No such file or directory)")
        #expect(Self.failure(.SYSBOX_STEP_SETNS, ESRCH).message == "container c1 stopped before the command could start")
        #expect(Self.failure(.SYSBOX_STEP_SETUID, EPERM).exitCode == 125)
        #expect(Self.failure(.SYSBOX_STEP_SETUID, EPERM).message == "exec in container c1: switching user failed: EPERM (Operation not permitted)")
    }

    /// The Swift writer of exec.cache, read back by the C parser of the fast path.
    @Test func execCacheWriterAndReaderAgree() {
        let env = ContainerExec.baseExecEnvironment(home: "/root", user: "root", term: "dumb", config: ["environment.A": "1", "environment.B": "x\ny"])
        let text = ContainerExec.execCacheText(initPid: 4242, startTime: 123_456, cwd: "/root", layout: StartPlanGoldenTests.hybrid, environment: env)
        var bytes = Array(text.utf8CString)
        var cache = sysbox_exec_cache()
        let rc = bytes.withUnsafeMutableBufferPointer { sysbox_exec_cache_parse($0.baseAddress, &cache) }
        #expect(rc == 0)
        #expect(cache.pid == 4242 && cache.start_time == 123_456 && cache.drop == Hardening.dropMask)
        #expect(cache.cwd.map { String(cString: $0) } == "/root")
        let parsedEnv = withUnsafeBytes(of: &cache.env) { raw in
            raw.bindMemory(to: UnsafeMutablePointer<CChar>?.self).prefix(Int(cache.env_count)).compactMap { $0.map { String(cString: $0) } }
        }
        #expect(parsedEnv == ["A=1", "HOME=/root", "LANG=C.UTF-8", "PATH=\(SYSBOX_DEFAULT_PATH)", "TERM=dumb", "USER=root"])
        let mounts = withUnsafeBytes(of: &cache.cgroup_mounts) { raw in
            raw.bindMemory(to: UnsafePointer<CChar>?.self).prefix(Int(cache.cgroup_count)).compactMap { $0.map { String(cString: $0) } }
        }
        #expect(mounts == StartPlanGoldenTests.hybrid.hierarchies.map(\.mountPoint))
        var bad = Array("sysbox-exec-cache 2\ninit 1 2\n".utf8CString)
        #expect(bad.withUnsafeMutableBufferPointer { sysbox_exec_cache_parse($0.baseAddress, &cache) } == -EINVAL)
    }
}
