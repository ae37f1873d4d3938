import CSysbox
import Foundation
import Testing

@testable import SysboxCore

/// Issue 15 item 6: the values of the new limits keys and the exact cgroup files and values written on
/// cgroup2 (a temporary directory laid out like one: sysbox never creates a control file) and on v1.
@Suite struct LimitsUnitTests {
    /// A cgroup directory for `name` under a fake hierarchy at a temp dir, with `files` made empty.
    func fakeCgroup(v2: Bool, files: [String]) throws -> (root: String, dir: String, cgroup: ContainerCgroup) {
        let root = NSTemporaryDirectory() + "sysbox-limits-\(UUID().uuidString.prefix(8))"
        let hierarchies =
            v2
            ? [CgroupHierarchy(mountPoint: root, controllers: [], isV2: true)]
            : ["memory", "cpu", "blkio", "pids"].map { CgroupHierarchy(mountPoint: root + "/" + $0, controllers: [$0], isV2: false) }
        let cg = ContainerCgroup(layout: CgroupLayout(hierarchies: hierarchies), stateDirectory: "/s", name: "c1")
        for h in hierarchies {
            let dir = h.mountPoint + "/" + cg.relative
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            for file in files where v2 || file.hasPrefix(h.controllers[0] + ".") {
                _ = FileManager.default.createFile(atPath: dir + "/" + file, contents: Data())
            }
        }
        return (root, v2 ? root + "/" + cg.relative : root, cg)
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    static let v2Files = ["memory.max", "memory.low", "memory.swap.max", "cpu.max", "cpu.weight", "pids.max", "io.weight", "io.max"]

    @Test func values() throws {
        #expect(try Values.cpuAllowance("25%") == .percent(25))
        #expect(try Values.cpuAllowance("25%").quotaAndPeriod == (25_000, 100_000))
        #expect(try Values.cpuAllowance("25ms/100ms").quotaAndPeriod == (25_000, 100_000))
        #expect(try Values.cpuAllowance("150%").quotaAndPeriod == (150_000, 100_000))
        for bad in ["0%", "25", "25ms", "25ms/0ms", "25ms/2000ms", "0ms/100ms", "25s/100ms", "-5%", "%"] {
            #expect(throws: ValueError.self, "\(bad)") { try Values.cpuAllowance(bad) }
        }
        #expect(try Values.ioLimit("10MB") == .bytes(10_000_000))
        #expect(try Values.ioLimit("1MiB/s") == .bytes(1 << 20))
        #expect(try Values.ioLimit("100iops") == .iops(100))
        for bad in ["0", "0iops", "10 MB", "fast", "iops", "10Mbit"] { #expect(throws: ValueError.self, "\(bad)") { try Values.ioLimit(bad) } }
        #expect(try Values.rlimit("1024") == (1024, 1024))
        #expect(try Values.rlimit("1024:4096") == (1024, 4096))
        #expect(try Values.rlimit("unlimited") == (nil, nil))
        #expect(try Values.rlimit("100:unlimited") == (100, nil))
        for bad in ["4096:1024", "unlimited:10", "-1", "1:2:3", "", "ten"] { #expect(throws: ValueError.self, "\(bad)") { try Values.rlimit(bad) } }
        #expect(try Values.memoryEnforce("soft") && !Values.memoryEnforce("hard"))
    }

    @Test func keysAndMessages() throws {
        try InstanceConfig.validate("limits.cpu.allowance", "50%")
        try InstanceConfig.validate("limits.kernel.nofile", "1024:2048")
        try InstanceConfig.validate("linux.sysctl.net.ipv4.ip_forward", "1")
        try InstanceConfig.validate("linux.sysctl.kernel.shmmax", "1000000")
        #expect(
            message { try InstanceConfig.validate("limits.cpu.priority", "11") }
                == "invalid value \"11\" for limits.cpu.priority: 11 is out of range; expected an integer from 0 to 10")
        #expect(
            message { try InstanceConfig.validate("limits.kernel.nofiles", "5") }.hasPrefix("invalid key limits.kernel.nofiles: unknown resource \"nofiles\"; did you mean nofile?")
        )
        #expect(message { try InstanceConfig.validate("limits.kernel.nofile", "10:5") }.hasPrefix("invalid value \"10:5\" for limits.kernel.nofile: the soft limit 10 is above"))
        #expect(message { try InstanceConfig.validate("linux.sysctl.kernel.hostname", "x") }.contains("the hostname is the container's name"))
        #expect(message { try InstanceConfig.validate("linux.sysctl.net..x", "1") }.contains("is not a sysctl name"))
        #expect(message { try InstanceConfig.validate("linux.sysctl.kernel.panic", "1") }.hasPrefix("invalid key linux.sysctl.kernel.panic: kernel.panic is not namespaced"))
        #expect(message { try InstanceConfig.validate("limits.memory.enforce", "medium") } == "invalid value \"medium\" for limits.memory.enforce: expected hard or soft")
        #expect(
            message { try Devices.validate(name: "data", ["type": "disk", "path": "/d", "source": "/tmp", "limits.read": "10Mbps"]) }.hasPrefix(
                "device data (disk): invalid value \"10Mbps\" for limits.read: expected bytes per second"))
        #expect(
            try Rlimits.limits(["limits.kernel.nofile": "100:200", "limits.kernel.core": "unlimited"]) == [
                Rlimits.Limit(resource: 4, soft: UInt64.max, hard: UInt64.max), Rlimits.Limit(resource: 7, soft: 100, hard: 200)
            ])
        #expect(Sysctls.settings(["linux.sysctl.net.ipv4.ip_forward": "1"]).map(\.path) == ["proc/sys/net/ipv4/ip_forward"])
        // Live device limits leave no "devices" note; start-only families do.
        let before = ConfigLayer(devices: ["root": ["type": "disk", "path": "/"]])
        var after = before
        after.devices["root"]?["limits.read"] = "10MB"
        #expect(PendingChange.what(before: before, after: after) == [])
        after.config["limits.kernel.nofile"] = "10"
        #expect(PendingChange.what(before: before, after: after) == ["limits.kernel.nofile"])
    }

    @Test func limitsFromConfigAndDisks() throws {
        let config = [
            "limits.cpu.allowance": "25ms/50ms", "limits.cpu": "1", "limits.cpu.priority": "5", "limits.memory": "64MiB",
            "limits.memory.enforce": "soft", "limits.memory.swap": "false", "limits.disk.priority": "0"
        ]
        let devices: [String: [String: String]] = [
            "root": ["type": "disk", "path": "/", "limits.read": "10MB", "limits.write": "100iops"],
            "data": ["type": "disk", "path": "/d", "source": "/src", "limits.max": "5MB"],
            "plain": ["type": "disk", "path": "/p", "source": "/plain"]
        ]
        let l = try CgroupLimits(config: config, devices: devices, hostMemory: 0, rootDirectory: "/state/c1") { path in
            path == "/state/c1" || path == "/src" ? (8, 0) : (9, 9)
        }
        #expect(l.cpuBandwidth == (25_000, 50_000))
        #expect(l.cpuWeight(v2: true) == 95 && l.cpuWeight(v2: false) == 1019)
        #expect(l.ioWeight == 10 && l.memorySoft == true && l.memorySwap == false)
        // Both disks are on 8:0: the tighter of each limit.
        #expect(l.blockIO == [BlockIOLimit(major: 8, minor: 0, readBytes: 5_000_000, writeBytes: 5_000_000, writeIOPS: 100)])
        #expect(try CgroupLimits(config: ["limits.cpu": "2", "limits.cpu.allowance": "50%"], hostMemory: 0).cpuBandwidth == (50_000, 100_000))
        #expect(try CgroupLimits(config: ["limits.cpu": "1", "limits.cpu.allowance": "300%"], hostMemory: 0).cpuBandwidth == (100_000, 100_000))
        // No block device: one line naming the device and why.
        let m = message {
            _ = try CgroupLimits(config: [:], devices: ["data": devices["data"] ?? [:]], hostMemory: 0, rootDirectory: "/") { _ in
                throw SysboxError(.unsupported, "/src is on tmpfs (tmpfs), which has no block device to throttle")
            }
        }
        #expect(m == "device data: limits.read/limits.write cannot apply: /src is on tmpfs (tmpfs), which has no block device to throttle; remove them or use a source on a disk")
    }

    @Test func v2Files() throws {
        let (root, dir, cg) = try fakeCgroup(v2: true, files: Self.v2Files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try cg.apply(
            CgroupLimits(
                memoryBytes: 1 << 26, cpuQuota: 25_000, cpuPeriod: 100_000, cpuPriority: 0, memorySoft: true, memorySwap: false, diskPriority: 3,
                blockIO: [BlockIOLimit(major: 8, minor: 0, readBytes: 10_000_000, writeIOPS: 100)]))
        #expect(try read(dir + "/memory.max") == "max")
        #expect(try read(dir + "/memory.low") == "67108864")
        #expect(try read(dir + "/memory.swap.max") == "0")
        #expect(try read(dir + "/cpu.max") == "25000 100000")
        #expect(try read(dir + "/cpu.weight") == "90")
        #expect(try read(dir + "/io.weight") == "default 300")
        #expect(try read(dir + "/io.max") == "8:0 rbps=10000000 wbps=max riops=max wiops=100")
        // Unset again: every file back to no limit (a device limited before is cleared).
        try cg.apply(CgroupLimits(memoryBytes: 1 << 26))
        #expect(try read(dir + "/memory.max") == "67108864")
        #expect(try read(dir + "/memory.low") == "0")
        #expect(try read(dir + "/memory.swap.max") == "max")
        #expect(try read(dir + "/cpu.max") == "max 100000")
        #expect(try read(dir + "/cpu.weight") == "100")
        #expect(try read(dir + "/io.weight") == "default 100")
        #expect(try read(dir + "/io.max") == "8:0 rbps=max wbps=max riops=max wiops=max")
    }

    @Test func v2MissingFiles() throws {
        let (root, _, cg) = try fakeCgroup(v2: true, files: ["memory.max", "cpu.max", "pids.max"])
        defer { try? FileManager.default.removeItem(atPath: root) }
        try cg.apply(CgroupLimits())  // unset keys skip what the kernel lacks
        #expect(message { try cg.apply(CgroupLimits(memorySwap: false)) }.hasPrefix("limits.memory.swap=false needs memory.swap.max"))
        #expect(message { try cg.apply(CgroupLimits(diskPriority: 1)) } == ContainerCgroup.ioWeightMissing)
        #expect(message { try cg.apply(CgroupLimits(blockIO: [BlockIOLimit(major: 8, minor: 0, readBytes: 1)])) }.hasPrefix("disk limits.read/limits.write need io.max"))
    }

    @Test func v1Files() throws {
        let files = [
            "memory.limit_in_bytes", "memory.soft_limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness", "cpu.cfs_period_us", "cpu.cfs_quota_us",
            "cpu.shares", "pids.max", "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device"
        ]
        let (root, _, cg) = try fakeCgroup(v2: false, files: files)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let dir = { (controller: String) in root + "/" + controller + "/" + cg.relative }
        try cg.apply(
            CgroupLimits(
                memoryBytes: 1 << 26, cpuQuota: 25_000, cpuPeriod: 50_000, cpuPriority: 2, memorySwap: false,
                blockIO: [BlockIOLimit(major: 254, minor: 0, readBytes: 1_000_000, writeIOPS: 50)]))
        #expect(try read(dir("memory") + "/memory.limit_in_bytes") == "67108864")
        #expect(try read(dir("memory") + "/memory.memsw.limit_in_bytes") == "67108864")
        #expect(try read(dir("memory") + "/memory.soft_limit_in_bytes") == "-1")
        #expect(try read(dir("memory") + "/memory.swappiness") == "0")
        #expect(try read(dir("cpu") + "/cpu.cfs_period_us") == "50000")
        #expect(try read(dir("cpu") + "/cpu.cfs_quota_us") == "25000")
        #expect(try read(dir("cpu") + "/cpu.shares") == "1016")
        #expect(try read(dir("blkio") + "/blkio.throttle.read_bps_device") == "254:0 1000000")
        #expect(try read(dir("blkio") + "/blkio.throttle.write_iops_device") == "254:0 50")
        try cg.apply(CgroupLimits(memoryBytes: 1 << 26, memorySoft: true))
        #expect(try read(dir("memory") + "/memory.limit_in_bytes") == "-1")
        #expect(try read(dir("memory") + "/memory.soft_limit_in_bytes") == "67108864")
        #expect(try read(dir("memory") + "/memory.memsw.limit_in_bytes") == "-1")
        #expect(try read(dir("cpu") + "/cpu.shares") == "1024")
        #expect(try read(dir("blkio") + "/blkio.throttle.read_bps_device") == "254:0 0")
        // blkio.weight is missing here (no bfq): limits.disk.priority says which host setting it needs.
        #expect(message { try cg.apply(CgroupLimits(diskPriority: 5)) } == ContainerCgroup.ioWeightMissing)
    }

    @Test func blockDeviceLookup() throws {
        let info = """
            22 1 254:0 / / rw,relatime - ext4 /dev/vda rw
            40 22 0:41 / /mnt/fast rw - tmpfs tmpfs rw
            41 22 0:52 / /srv/b rw - btrfs /dev/loop3 rw
            """
        #expect(BlockDevices.mountSource(of: "0:41", mountinfo: info)! == ("tmpfs", "tmpfs"))
        #expect(BlockDevices.mountSource(under: "/srv/b/sub/x", mountinfo: info)! == ("btrfs", "/dev/loop3"))
        #expect(BlockDevices.split(UInt64(254 << 8)) == (254, 0))
        #expect(BlockDevices.split(0x801) == (8, 1))
        #expect(message { _ = try BlockDevices.device(under: "/dev/shm") }.contains("which has no block device to throttle"))
    }

    @Test func planCarriesRlimitsAndSysctlsInOrder() throws {
        var input = StartPlanGoldenTests.input()
        input.config["limits.kernel.nofile"] = "200:300"
        input.config["limits.kernel.core"] = "unlimited"
        input.config["linux.sysctl.net.ipv4.ip_forward"] = "1"
        input.config["linux.sysctl.kernel.shmmni"] = "1234"
        input.devices["root"]?["limits.read"] = "10MB"
        input.blockDevice = { path in
            #expect(path == "/var/lib/sysbox/containers/c1")
            return (254, 0)
        }
        let plan = try StartPlanner.plan(input)
        #expect(plan.rlimits == [Rlimits.Limit(resource: 4, soft: UInt64.max, hard: UInt64.max), Rlimits.Limit(resource: 7, soft: 200, hard: 300)])
        #expect(plan.limits.blockIO == [BlockIOLimit(major: 254, minor: 0, readBytes: 10_000_000)])
        let kinds = plan.mounts.map(\.kind)
        let ipc = try #require(plan.mounts.firstIndex { $0.target == "proc/sys/kernel/shmmni" })
        let net = try #require(plan.mounts.firstIndex { $0.target == "proc/sys/net/ipv4/ip_forward" })
        // The IPC one before /proc/sys turns read-only, the network one after the release (NICs attached).
        #expect(ipc < (kinds.firstIndex(of: .rebind) ?? 0))
        #expect(net > (kinds.firstIndex(of: .release) ?? Int.max))
        #expect(plan.mounts[net].content == "1" && Spawner.step(of: plan.mounts[net]) == .SYSBOX_STEP_SYSCTL)
        // The golden plans (none of these keys) stay without the new fields.
        #expect(try StartPlanner.plan(StartPlanGoldenTests.input()).rlimits == nil)
    }

    /// A CPU count pins that many CPUs of the parent's, spread by the cgroup's path; a set is itself.
    @Test func cpuCountPinsSpreadCPUs() {
        #expect(CgroupLimits.cpuIDs("0-3,6\n") == [0, 1, 2, 3, 6] && CgroupLimits.cpuIDs("") == [])
        let all = [0, 1, 2, 3]
        #expect(CgroupLimits.spread(count: 4, available: all, key: "a") == all)
        #expect(CgroupLimits.spread(count: 9, available: all, key: "a") == all)
        let two = CgroupLimits.spread(count: 2, available: all, key: "sysbox/ab/web1")
        #expect(two.count == 2 && Set(two).isSubset(of: all) && two == CgroupLimits.spread(count: 2, available: all, key: "sysbox/ab/web1"))
        let firsts = Set((0..<16).map { CgroupLimits.spread(count: 1, available: all, key: "sysbox/ab/c\($0)")[0] })
        #expect(firsts.count > 1, "16 containers of one CPU all on \(firsts)")
        #expect(CgroupLimits(cpuCount: 1).pinnedCPUs(available: [], key: "x") == nil)
        #expect(CgroupLimits(cpuSet: [1]).pinnedCPUs(available: all, key: "x") == [1])
        #expect(CgroupLimits().pinnedCPUs(available: all, key: "x") == nil)
    }

    /// exec.cache carries init's rlimits to the fast path, parsed back by the C reader.
    @Test func execCacheRlimits() {
        let limits = [Rlimits.Limit(resource: 7, soft: 200, hard: 300), Rlimits.Limit(resource: 4, soft: UInt64.max, hard: UInt64.max)]
        let text = ContainerExec.execCacheText(
            initPid: 1, startTime: 2, cwd: "/", layout: StartPlanGoldenTests.hybrid, environment: [:], rlimits: limits)
        #expect(text.contains("rlimit 7 200 300\nrlimit 4 18446744073709551615 18446744073709551615\n"))
        var bytes = Array(text.utf8CString)
        var cache = sysbox_exec_cache()
        #expect(bytes.withUnsafeMutableBufferPointer { sysbox_exec_cache_parse($0.baseAddress, &cache) } == 0)
        let parsed = withUnsafeBytes(of: &cache.rlimits) { raw in
            raw.bindMemory(to: sysbox_rlimit.self).prefix(Int(cache.rlimit_count)).map { Rlimits.Limit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        }
        #expect(parsed == limits)
        // A damaged line is refused (the exec then takes the Swift path), never read as resource 0.
        for damaged in ["rlimit x 1 2", "rlimit 7 1", "rlimit 7 1 2x", "rlimit 99 1 2", "rlimit 7"] {
            var broken = Array(text.replacingOccurrences(of: "rlimit 7 200 300", with: damaged).utf8CString)
            var other = sysbox_exec_cache()
            #expect(broken.withUnsafeMutableBufferPointer { sysbox_exec_cache_parse($0.baseAddress, &other) } == -EINVAL, "\(damaged)")
        }
    }
}
