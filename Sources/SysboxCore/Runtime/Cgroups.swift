import CSysbox
import Foundation
import SysboxStore

/// One mounted cgroup hierarchy of the host.
public struct CgroupHierarchy: Sendable, Equatable {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory` (v1) or `/sys/fs/cgroup` (v2).
    public var mountPoint: String
    /// v1 controllers (`cpu`, `memory`, `name=systemd`); empty for cgroup2.
    public var controllers: [String]
    public var isV2: Bool

    public init(mountPoint: String, controllers: [String], isV2: Bool) {
        self.mountPoint = mountPoint
        self.controllers = controllers
        self.isV2 = isV2
    }

    func has(_ controller: String) -> Bool { controllers.contains(controller) }
}

/// The host's cgroup hierarchies: v1 (and hybrid: v1 controllers plus an empty cgroup2), or pure v2.
public struct CgroupLayout: Sendable, Equatable {
    public var hierarchies: [CgroupHierarchy]

    /// Pure v2: one cgroup2 hierarchy and no v1 one.
    public var isUnified: Bool { hierarchies.allSatisfy(\.isV2) && hierarchies.count == 1 }

    static let v1Options: Set<String> = ["rw", "ro", "noprefix", "xattr", "clone_children", "cpuset_v2_mode", "favordynmods"]

    /// Reads the cgroup mounts of `/proc/self/mountinfo` text.
    public static func parse(mountinfo: String) -> CgroupLayout {
        var out: [CgroupHierarchy] = []
        for line in mountinfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { continue }
            let left = halves[0].split(separator: " "), right = halves[1].split(separator: " ")
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = String(left[4])
            switch right[0] {
            case "cgroup2":
                out.append(CgroupHierarchy(mountPoint: mountPoint, controllers: [], isV2: true))
            case "cgroup":
                let controllers = right[2].split(separator: ",").map(String.init).filter {
                    !v1Options.contains($0) && !$0.hasPrefix("release_agent=")
                }
                out.append(CgroupHierarchy(mountPoint: mountPoint, controllers: controllers, isV2: false))
            default:
                continue
            }
        }
        return CgroupLayout(hierarchies: out)
    }

    /// This host's layout.
    public static func host() throws -> CgroupLayout {
        let text = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let layout = parse(mountinfo: text)
        guard !layout.hierarchies.isEmpty else {
            throw SysboxError(.unsupported, "no cgroup filesystem is mounted on this host; mount cgroup2 on /sys/fs/cgroup")
        }
        return layout
    }

    func hierarchy(with controller: String) -> CgroupHierarchy? {
        hierarchies.first { $0.has(controller) } ?? (isUnified ? hierarchies.first : nil)
    }
}

/// A disk device's I/O throttle on one block device (`limits.read`, `limits.write`, `limits.max`):
/// blkio.throttle.* (v1) or io.max (v2). nil: no limit of that kind.
public struct BlockIOLimit: Codable, Sendable, Equatable {
    public var major: UInt32
    public var minor: UInt32
    public var readBytes: UInt64?
    public var writeBytes: UInt64?
    public var readIOPS: UInt64?
    public var writeIOPS: UInt64?

    public init(major: UInt32, minor: UInt32, readBytes: UInt64? = nil, writeBytes: UInt64? = nil, readIOPS: UInt64? = nil, writeIOPS: UInt64? = nil) {
        self.major = major
        self.minor = minor
        self.readBytes = readBytes
        self.writeBytes = writeBytes
        self.readIOPS = readIOPS
        self.writeIOPS = writeIOPS
    }

    var device: String { "\(major):\(minor)" }

    /// The tighter of two limits on the same block device, field by field.
    func merged(with other: BlockIOLimit) -> BlockIOLimit {
        func least(_ a: UInt64?, _ b: UInt64?) -> UInt64? { [a, b].compactMap { $0 }.min() }
        return BlockIOLimit(
            major: major, minor: minor, readBytes: least(readBytes, other.readBytes), writeBytes: least(writeBytes, other.writeBytes),
            readIOPS: least(readIOPS, other.readIOPS), writeIOPS: least(writeIOPS, other.writeIOPS))
    }
}

/// Resource limits from a container's config, ready for the cgroup files.
public struct CgroupLimits: Sendable, Equatable {
    public var memoryBytes: UInt64?
    public var cpuCount: Int?
    public var cpuSet: [Int]?
    public var pidsMax: Int64?
    /// `limits.cpu.allowance` as CFS quota and period (µs).
    public var cpuQuota: Int64?
    public var cpuPeriod: Int64?
    /// `limits.cpu.priority` (0-10); nil: 10, the kernel's default weight.
    public var cpuPriority: Int?
    /// `limits.memory.enforce=soft`: `memoryBytes` is a soft limit.
    public var memorySoft: Bool?
    /// `limits.memory.swap=false`: no swap (nil or true: swap allowed).
    public var memorySwap: Bool?
    /// `limits.disk.priority` (0-10); nil: the kernel's default weight.
    public var diskPriority: Int?
    /// The disk devices' throttles, one per block device, sorted.
    public var blockIO: [BlockIOLimit]

    public init(
        memoryBytes: UInt64? = nil, cpuCount: Int? = nil, cpuSet: [Int]? = nil, pidsMax: Int64? = nil, cpuQuota: Int64? = nil, cpuPeriod: Int64? = nil,
        cpuPriority: Int? = nil, memorySoft: Bool? = nil, memorySwap: Bool? = nil, diskPriority: Int? = nil, blockIO: [BlockIOLimit] = []
    ) {
        self.memoryBytes = memoryBytes
        self.cpuCount = cpuCount
        self.cpuSet = cpuSet
        self.pidsMax = pidsMax
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.cpuPriority = cpuPriority
        self.memorySoft = memorySoft
        self.memorySwap = memorySwap
        self.diskPriority = diskPriority
        self.blockIO = blockIO
    }

    /// From expanded config; `limits.memory` percentages are of `hostMemory` bytes.
    public init(config: [String: String], hostMemory: UInt64) throws {
        try self.init(config: config, devices: [:], hostMemory: hostMemory, rootDirectory: "/")
    }

    /// From expanded config and devices; `limits.memory` percentages are of `hostMemory` bytes. A disk
    /// device's `limits.read`/`limits.write`/`limits.max` apply to the block device under its source
    /// (the root disk's: under `rootDirectory`, the container's directory), found by `blockDevice`.
    /// - Throws: `SysboxError(.invalidArgument)` for a bad value; the resolver's error for a source
    ///   without a block device.
    public init(
        config: [String: String], devices: DeviceMap, hostMemory: UInt64, rootDirectory: String,
        blockDevice: (String) throws -> (major: UInt32, minor: UInt32) = BlockDevices.device(under:)
    ) throws {
        self.init()
        func parsed<T>(_ key: String, _ parse: (String) throws(ValueError) -> T) throws -> T? {
            guard let text = config[key] else { return nil }
            do { return try parse(text) } catch {
                throw SysboxError.invalid("invalid value \(Names.quote(text)) for \(key): \(error.message)", cause: error)
            }
        }
        switch try parsed("limits.memory", Values.memory) {
        case let .bytes(n)?: memoryBytes = n
        case let .percent(p)?: memoryBytes = hostMemory / 100 * UInt64(p)
        case nil: break
        }
        switch try parsed("limits.cpu", Values.cpu) {
        case let .count(n)?: cpuCount = n
        case let .set(ids)?: cpuSet = ids
        case nil: break
        }
        pidsMax = try parsed("limits.processes") { v throws(ValueError) in try Values.integer(v) }
        if let allowance = try parsed("limits.cpu.allowance", Values.cpuAllowance) {
            (cpuQuota, cpuPeriod) = allowance.quotaAndPeriod
        }
        cpuPriority = try parsed("limits.cpu.priority") { v throws(ValueError) in Int(try Values.integer(v, in: 0...10)) }
        memorySoft = try parsed("limits.memory.enforce", Values.memoryEnforce).flatMap { $0 ? true : nil }
        memorySwap = try parsed("limits.memory.swap", Values.bool).flatMap { $0 ? nil : false }
        diskPriority = try parsed("limits.disk.priority") { v throws(ValueError) in Int(try Values.integer(v, in: 0...10)) }
        var byDevice: [String: BlockIOLimit] = [:]
        for (name, d) in devices.sorted(by: { $0.key < $1.key }) where d["type"] == "disk" {
            func limit(_ key: String) throws -> Values.IOLimit? {
                guard let text = d[key] else { return nil }
                do { return try Values.ioLimit(text) } catch {
                    throw SysboxError.invalid("device \(name) (disk): invalid value \(Names.quote(text)) for \(key): \(error.message)", cause: error)
                }
            }
            let both = try limit("limits.max")
            let read = try limit("limits.read") ?? both, write = try limit("limits.write") ?? both
            guard read != nil || write != nil else { continue }
            let isRoot = (try? Values.absolutePath(d["path"] ?? "")) == "/"
            let path = isRoot ? rootDirectory : d["source"] ?? rootDirectory
            let id: (major: UInt32, minor: UInt32)
            do { id = try blockDevice(path) } catch let error as SysboxError {
                throw error.wrapped("device \(name): limits.read/limits.write cannot apply: \(error.message); remove them or use a source on a disk")
            }
            var l = BlockIOLimit(major: id.major, minor: id.minor)
            if case let .bytes(n)? = read { l.readBytes = n }
            if case let .iops(n)? = read { l.readIOPS = n }
            if case let .bytes(n)? = write { l.writeBytes = n }
            if case let .iops(n)? = write { l.writeIOPS = n }
            byDevice[l.device] = byDevice[l.device].map { $0.merged(with: l) } ?? l
        }
        blockIO = byDevice.values.sorted { ($0.major, $0.minor) < ($1.major, $1.minor) }
    }

    /// The CFS bandwidth: the tighter of `limits.cpu` (a count: that many CPUs' time) and
    /// `limits.cpu.allowance`, per the allowance's period (100 ms without one). nil quota: no cap.
    var cpuBandwidth: (quota: Int64?, period: Int64) {
        let period = cpuPeriod ?? 100_000
        let quotas = [cpuCount.map { Int64($0) * period }, cpuQuota].compactMap { $0 }
        return (quotas.min(), period)
    }

    /// LXD's CPU weight for `limits.cpu.priority`: the kernel's default weight (cpu.shares 1024 on v1,
    /// cpu.weight 100 on v2) less 10 - priority.
    func cpuWeight(v2: Bool) -> Int { (v2 ? 100 : 1024) - (10 - (cpuPriority ?? 10)) }

    /// LXD's I/O weight for `limits.disk.priority`: priority × 100, at least 10 (blkio.weight and
    /// io.weight); nil when unset.
    var ioWeight: Int? { diskPriority.map { max($0 * 100, 10) } }

    /// "0-2,5" for [0, 1, 2, 5].
    /// The CPUs a `limits.cpu` count pins the container to (as LXD exposes N CPUs): `count` of the
    /// `available` ones (its parent's cpuset), consecutive from an offset chosen by `key` (the cgroup's
    /// path, FNV-1a), so containers spread over the CPUs rather than all landing on CPU 0. All of them
    /// when `count` is as many or more.
    static func spread(count: Int, available: [Int], key: String) -> [Int] {
        guard count < available.count, count > 0 else { return available }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        let start = Int(hash % UInt64(available.count))
        return (0..<count).map { available[(start + $0) % available.count] }.sorted()
    }

    /// The CPU ids of a cpuset list ("0-1,3"); empty for an empty or unreadable list.
    static func cpuIDs(_ text: String) -> [Int] {
        guard case let .set(ids)? = try? Values.cpu(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return [] }
        return ids
    }

    /// The cpuset a container's `limits.cpu` gives it: its set, or a count spread over `available`
    /// (nil: no limit, the parent's whole set).
    func pinnedCPUs(available: [Int], key: String) -> [Int]? {
        if let cpuSet { return cpuSet }
        guard let cpuCount, !available.isEmpty else { return nil }
        return Self.spread(count: cpuCount, available: available, key: key)
    }

    static func cpuList(_ ids: [Int]) -> String {
        var ranges: [String] = []
        var i = 0
        while i < ids.count {
            var j = i
            while j + 1 < ids.count && ids[j + 1] == ids[j] + 1 { j += 1 }
            ranges.append(i == j ? "\(ids[i])" : "\(ids[i])-\(ids[j])")
            i = j + 1
        }
        return ranges.joined(separator: ",")
    }
}

/// What `info` shows from the cgroups.
public struct CgroupStats: Sendable, Equatable {
    public var memoryBytes: UInt64?
    public var cpuNanoseconds: UInt64?
    public var processes: Int?
}

/// One container's cgroup: `<hierarchy>/sysbox/<state-dir-hash>/<name>` in every hierarchy (the
/// hash keeps containers of two state directories apart).
public struct ContainerCgroup: Sendable {
    public let layout: CgroupLayout
    /// Relative path below each hierarchy's mount point.
    public let relative: String

    public init(layout: CgroupLayout, stateDirectory: String, name: String) {
        self.layout = layout
        relative = "sysbox/\(Self.hash(stateDirectory))/\(name)"
    }

    /// FNV-1a of the state directory, 8 hex digits.
    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(String(h, radix: 16).suffix(8))
    }

    public var directories: [String] { layout.hierarchies.map { $0.mountPoint + "/" + relative } }

    func directory(_ controller: String) -> String? {
        layout.hierarchy(with: controller).map { $0.mountPoint + "/" + relative }
    }

    /// Freezes (`true`) or thaws every process of the container: v1 `freezer.state` FROZEN/THAWED, v2
    /// `cgroup.freeze`; waits up to 5 s for the kernel to report it done (v1 FREEZING → FROZEN, v2
    /// `frozen 1` in cgroup.events).
    /// - Throws: `SysboxError(.io)` when there is no freezer or it does not finish.
    public func setFrozen(_ frozen: Bool) throws {
        if let v1 = layout.hierarchies.first(where: { !$0.isV2 && $0.has("freezer") }) {
            let file = v1.mountPoint + "/" + relative + "/freezer.state"
            try Self.write(file, frozen ? "FROZEN" : "THAWED")
            for attempt in 0..<550 {
                if (try? Self.read(file)) == (frozen ? "FROZEN" : "THAWED") { return }
                usleep(Self.pollPause(attempt))
            }
            throw SysboxError(.io, "the container's processes did not \(frozen ? "freeze" : "thaw") within 5 s (\(file))")
        }
        guard let v2 = layout.hierarchies.first(where: \.isV2), FileManager.default.fileExists(atPath: v2.mountPoint + "/" + relative + "/cgroup.freeze") else {
            throw SysboxError(.unsupported, "this host has no cgroup freezer (v1 freezer or cgroup2 cgroup.freeze)")
        }
        let dir = v2.mountPoint + "/" + relative
        try Self.write(dir + "/cgroup.freeze", frozen ? "1" : "0")
        for attempt in 0..<550 {
            if (try? Self.read(dir + "/cgroup.events"))?.contains("frozen \(frozen ? 1 : 0)") == true { return }
            usleep(Self.pollPause(attempt))
        }
        throw SysboxError(.io, "the container's processes did not \(frozen ? "freeze" : "thaw") within 5 s (\(dir)/cgroup.events)")
    }

    /// Whether the container's processes are frozen: v1 `freezer.state` FROZEN (FREEZING is not yet),
    /// or v2 `frozen 1` in cgroup.events; false without a freezer.
    public func isFrozen() -> Bool {
        if let v1 = layout.hierarchies.first(where: { !$0.isV2 && $0.has("freezer") }) {
            return (try? Self.read(v1.mountPoint + "/" + relative + "/freezer.state")) == "FROZEN"
        }
        guard let v2 = layout.hierarchies.first(where: \.isV2) else { return false }
        return (try? Self.read(v2.mountPoint + "/" + relative + "/cgroup.events"))?.contains("frozen 1") == true
    }

    /// Pause between two reads of a freezer state: 0.2 ms for the first 50 (a freeze usually completes
    /// within a few ms), then 10 ms; 550 reads make about 5 s.
    static func pollPause(_ attempt: Int) -> useconds_t { attempt < 50 ? 200 : 10_000 }

    /// What a process joins to enter a set of cgroups: each v1 hierarchy's `tasks` file, written `0`
    /// by the process itself while it has one thread (a single-thread self-move takes no
    /// threadgroup lock, so unlike a `cgroup.procs` write it waits for no RCU grace period: 0.06 ms
    /// instead of 7-20 ms here), and the cgroup2 directory, entered at clone time
    /// (clone3 CLONE_INTO_CGROUP: no migration at all).
    public struct JoinTargets: Equatable, Sendable {
        public var tasks: [String]
        public var v2Directory: String?

        /// An fd of the cgroup2 directory for CLONE_INTO_CGROUP, -1 when there is none.
        func openV2Directory() throws -> Int32 {
            guard let dir = v2Directory else { return -1 }
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw SysboxError(.io, "cannot open the cgroup \(dir): \(Host.errnoText(errno))") }
            return fd
        }
    }

    /// The file through which the calling process moves itself into `dir` of hierarchy `h`: v1 `tasks`
    /// while it has a single thread (no threadgroup lock, so no RCU grace period), else `cgroup.procs`.
    static func selfMoveFile(_ dir: String, in h: CgroupHierarchy, singleThreaded: Bool) -> String {
        dir + (!h.isV2 && singleThreaded ? "/tasks" : "/cgroup.procs")
    }

    /// Whether the calling process has one thread (/proc/self/task).
    static var isSingleThreaded: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task"))?.count ?? 2) == 1
    }

    /// The container's own cgroups.
    public var joinTargets: JoinTargets {
        JoinTargets(
            tasks: layout.hierarchies.filter { !$0.isV2 }.map { $0.mountPoint + "/" + relative + "/tasks" },
            v2Directory: layout.hierarchies.first(where: \.isV2).map { $0.mountPoint + "/" + relative })
    }

    /// The cgroups `pid` is in now (from /proc/PID/cgroup, read from the host so paths are absolute).
    /// An exec joins init's own cgroups: on cgroup2 the container's root cgroup may hold no process
    /// once its systemd has made sub-cgroups.
    public static func joinTargets(of pid: Int32, layout: CgroupLayout) -> JoinTargets {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return JoinTargets(tasks: [], v2Directory: nil) }
        return parseProcCgroup(text, layout: layout)
    }

    /// The cgroups /proc/PID/cgroup `text` names, in this host's hierarchies (`sysbox_proc_cgroup_match`,
    /// the parser the C fast path uses too).
    static func parseProcCgroup(_ text: String, layout: CgroupLayout) -> JoinTargets {
        var out = JoinTargets(tasks: [], v2Directory: nil)
        let hierarchies = layout.hierarchies
        let names = hierarchies.map { $0.isV2 ? "-" : $0.controllers.joined(separator: ",") }
        var bytes = Array(text.utf8CString)
        let max = 64
        var which = [Int32](repeating: 0, count: max)
        var rel = [UnsafePointer<CChar>?](repeating: nil, count: max)
        let c = CStrings()
        bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            // `const char *const *`: the same array, read only.
            let list = UnsafeRawPointer(c.array(names)).assumingMemoryBound(to: UnsafePointer<CChar>?.self)
            let n = sysbox_proc_cgroup_match(base, list, Int32(names.count), &which, &rel, Int32(max))
            for k in 0..<Int(n) {
                guard let pointer = rel[k] else { continue }
                let path = String(cString: pointer)
                let h = hierarchies[Int(which[k])]
                let dir = h.mountPoint + (path == "/" ? "" : path)
                if h.isV2 { out.v2Directory = dir } else { out.tasks.append(dir + "/tasks") }
            }
        }
        return out
    }

    /// Creates the cgroup in every hierarchy (parents included): v1 cpuset levels get the parent's
    /// cpus and mems; v2 parents get the controllers enabled in `cgroup.subtree_control`.
    ///
    /// An empty sysbox parent may be removed by another process at any moment (the last container of
    /// a state directory being deleted, the last monitor leaving): mkdir(2) then fails with ENOENT and
    /// the walk starts again from the top. Once our own cgroup exists, rmdir(2) of its parents fails
    /// with EBUSY/ENOTEMPTY, so a few retries always converge.
    public func create() throws {
        for h in layout.hierarchies {
            var attempt = 0
            var lastError: Error?
            while try !createOnce(in: h, lastError: &lastError) {
                attempt += 1
                if attempt >= 50 {
                    if let lastError { throw lastError }
                    throw SysboxError(.io, "cannot create cgroup \(h.mountPoint)/\(relative): its parents keep disappearing (another sysbox process removing them)")
                }
            }
        }
    }

    /// One walk down the hierarchy; false when a parent vanished under us (ENOENT), to be retried. A
    /// failure to set up a directory of the walk also retries (its parent may have been removed and
    /// made again by another process meanwhile); create() throws the last one when retries run out.
    private func createOnce(in h: CgroupHierarchy, lastError: inout Error?) throws -> Bool {
        var path = h.mountPoint
        for component in relative.split(separator: "/") {
            let parent = path
            path += "/" + component
            // v2: a child only gets the controllers its parent enables for its children.
            if h.isV2 {
                do { try enableControllers(in: parent) } catch {
                    lastError = error
                    return false
                }
            }
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                if errno == ENOENT { return false }
                throw SysboxError(.io, "cannot create cgroup \(path): \(Host.errnoText(errno))")
            }
            if !h.isV2 && h.has("cpuset") {
                for file in ["cpuset.cpus", "cpuset.mems"] where (try? Self.read(path + "/" + file))?.isEmpty ?? true {
                    do { try Self.write(path + "/" + file, try Self.read(parent + "/" + file)) } catch {
                        lastError = error
                        return false
                    }
                }
            }
        }
        return true
    }

    private func enableControllers(in path: String) throws {
        let available = (try? Self.read(path + "/cgroup.controllers")) ?? ""
        let wanted = ["cpu", "cpuset", "io", "memory", "pids"].filter { available.split(separator: " ").contains(Substring($0)) }
        guard !wanted.isEmpty else { return }
        try Self.write(path + "/cgroup.subtree_control", wanted.map { "+" + $0 }.joined(separator: " "))
    }

    /// The files of a v2 cgroup its delegate may write, when the kernel does not list them in
    /// /sys/kernel/cgroup/delegate.
    static let v2DelegateFiles = ["cgroup.procs", "cgroup.threads", "cgroup.subtree_control"]

    /// Hands the container's cgroups to its root (an unprivileged container, whose init, systemd, makes
    /// and manages its own subtree, as LXC does): chown(2) of each of its directories and, in it, of the
    /// files that move processes and enable controllers for children: v1 `tasks` and `cgroup.procs`
    /// (and `cgroup.clone_children` set to 1 in the cpuset hierarchy, so its children get CPUs and
    /// memory nodes); v2 the kernel's list in /sys/kernel/cgroup/delegate (`v2DelegateFiles` without
    /// it). The limit files stay host root's: the container cannot raise its own limits. Files missing
    /// in a hierarchy are skipped.
    /// - Parameter delegateList: the v2 list (nil: read /sys/kernel/cgroup/delegate).
    public func delegate(uid: uid_t, gid: gid_t, delegateList: [String]? = nil) throws {
        let v2Files =
            delegateList
            ?? (try? String(contentsOfFile: "/sys/kernel/cgroup/delegate", encoding: .utf8))?.split(whereSeparator: \.isWhitespace).map(String.init)
            ?? Self.v2DelegateFiles
        for h in layout.hierarchies {
            let dir = h.mountPoint + "/" + relative
            guard chown(dir, uid, gid) == 0 else { throw SysboxError(.io, "cannot delegate cgroup \(dir) to the container's root: \(Host.errnoText(errno))") }
            if !h.isV2 && h.has("cpuset") { try? Self.write(dir + "/cgroup.clone_children", "1") }
            for file in h.isV2 ? v2Files : ["tasks", "cgroup.procs"] {
                let path = dir + "/" + file
                if chown(path, uid, gid) != 0 && errno != ENOENT {
                    throw SysboxError(.io, "cannot delegate \(path) to the container's root: \(Host.errnoText(errno))")
                }
            }
        }
    }

    /// Writes the limits (an unset limit is written as "no limit", so a removed key takes effect live):
    /// v2 memory.max, memory.low, memory.swap.max, cpu.max, cpu.weight, cpuset.cpus, pids.max, io.weight,
    /// io.max; v1 memory.limit_in_bytes, memory.soft_limit_in_bytes, memory.memsw.limit_in_bytes,
    /// memory.swappiness, cpu.cfs_period_us/cfs_quota_us, cpu.shares, cpuset.cpus, pids.max,
    /// blkio.weight (or blkio.bfq.weight), blkio.throttle.*_device. A file the kernel does not offer is
    /// skipped while its key is unset, and is a one-line error naming the host setting when it is set.
    /// - Throws: `SysboxError(.unsupported)` for a missing controller or file; `.io` when the kernel
    ///   refuses a value (EINVAL: out of its range; EBUSY: memory above the new limit cannot be reclaimed).
    public func apply(_ limits: CgroupLimits) throws {
        let (quota, period) = limits.cpuBandwidth
        let hard = limits.memorySoft == true ? nil : limits.memoryBytes
        let soft = limits.memorySoft == true ? limits.memoryBytes : nil
        if layout.isUnified {
            let dir = layout.hierarchies[0].mountPoint + "/" + relative
            try Self.write(dir + "/memory.max", hard.map(String.init) ?? "max")
            // Soft, as LXD does on cgroup2: memory.low (usage above it is what the kernel reclaims
            // first when the host runs short; memory.high would throttle even on an idle host).
            try Self.writeIfPresent(
                dir + "/memory.low", soft.map(String.init) ?? "0", needed: soft != nil, what: "limits.memory.enforce=soft needs memory.low (the cgroup2 memory controller)")
            try Self.writeIfPresent(
                dir + "/memory.swap.max", limits.memorySwap == false ? "0" : "max", needed: limits.memorySwap == false,
                what:
                    "limits.memory.swap=false needs memory.swap.max, which this kernel does not offer: swap accounting is off (boot with swapaccount=1, or a kernel with CONFIG_MEMCG_SWAP)"
            )
            try Self.write(dir + "/cpu.max", "\(quota.map(String.init) ?? "max") \(period)")
            try Self.writeIfPresent(
                dir + "/cpu.weight", String(limits.cpuWeight(v2: true)), needed: limits.cpuPriority != nil,
                what: "limits.cpu.priority needs cpu.weight (the cgroup2 cpu controller)")
            if FileManager.default.fileExists(atPath: dir + "/cpuset.cpus") {
                let parent = (dir as NSString).deletingLastPathComponent
                let available = CgroupLimits.cpuIDs((try? Self.read(parent + "/cpuset.cpus.effective")) ?? "")
                try Self.write(dir + "/cpuset.cpus", limits.pinnedCPUs(available: available, key: relative).map(CgroupLimits.cpuList) ?? "")
            } else if limits.cpuSet != nil {
                throw SysboxError(.unsupported, "limits.cpu as a CPU set needs the cpuset controller, which this host's cgroup2 does not offer")
            }
            try Self.write(dir + "/pids.max", limits.pidsMax.map(String.init) ?? "max")
            try applyIO(limits, v2Directory: dir)
            return
        }
        if let dir = directory("memory") {
            let memsw = dir + "/memory.memsw.limit_in_bytes"
            let hasMemsw = FileManager.default.fileExists(atPath: memsw)
            if limits.memorySwap == false && hard != nil && !hasMemsw {
                throw SysboxError(
                    .unsupported,
                    "limits.memory.swap=false needs memory.memsw.limit_in_bytes, which this kernel does not offer: swap accounting is off (boot with swapaccount=1)")
            }
            // memsw (memory + swap) may never be below the memory limit: lifted first, set last.
            if hasMemsw { try Self.write(memsw, "-1") }
            try Self.write(dir + "/memory.limit_in_bytes", hard.map(String.init) ?? "-1")
            try Self.writeIfPresent(
                dir + "/memory.soft_limit_in_bytes", soft.map(String.init) ?? "-1", needed: soft != nil, what: "limits.memory.enforce=soft needs memory.soft_limit_in_bytes")
            if hasMemsw, limits.memorySwap == false, let hard { try Self.write(memsw, String(hard)) }
            // Without a hard limit to pin memsw to, swap=false is the cgroup's swappiness 0.
            if limits.memorySwap == false {
                try Self.writeIfPresent(dir + "/memory.swappiness", "0", needed: false, what: "")
            } else if FileManager.default.fileExists(atPath: dir + "/memory.swappiness") {
                try? Self.write(dir + "/memory.swappiness", (try? Self.read("/proc/sys/vm/swappiness")) ?? "60")
            }
        } else if limits.memoryBytes != nil || limits.memorySwap == false {
            throw SysboxError(.unsupported, "limits.memory needs the memory cgroup controller, which is not mounted")
        }
        if let dir = directory("cpu") {
            try Self.write(dir + "/cpu.cfs_period_us", String(period))
            try Self.write(dir + "/cpu.cfs_quota_us", quota.map(String.init) ?? "-1")
            try Self.writeIfPresent(dir + "/cpu.shares", String(limits.cpuWeight(v2: false)), needed: limits.cpuPriority != nil, what: "limits.cpu.priority needs cpu.shares")
        } else if limits.cpuQuota != nil || limits.cpuPriority != nil {
            throw SysboxError(.unsupported, "limits.cpu.allowance and limits.cpu.priority need the cpu cgroup controller, which is not mounted")
        }
        if let dir = directory("cpuset") {
            let parent = (dir as NSString).deletingLastPathComponent
            let available = try Self.read(parent + "/cpuset.cpus")
            try Self.write(dir + "/cpuset.cpus", limits.pinnedCPUs(available: CgroupLimits.cpuIDs(available), key: relative).map(CgroupLimits.cpuList) ?? available)
        }
        if let dir = directory("pids") {
            try Self.write(dir + "/pids.max", limits.pidsMax.map(String.init) ?? "max")
        } else if limits.pidsMax != nil {
            throw SysboxError(.unsupported, "limits.processes needs the pids cgroup controller, which is not mounted")
        }
        try applyIO(limits, v2Directory: nil)
    }

    /// What limits.disk.priority needs when the kernel offers no weight file.
    static let ioWeightMissing =
        "limits.disk.priority needs an I/O weight (blkio.weight or blkio.bfq.weight, io.weight), which this host does not offer: its disks' I/O scheduler must be bfq (echo bfq > /sys/block/DEV/queue/scheduler); unset limits.disk.priority"

    /// The disk weight and throttles: on cgroup2 (`v2Directory`) io.weight (or io.bfq.weight) and io.max
    /// (`MAJ:MIN rbps=N wbps=N riops=N wiops=N`, `max` for none); on v1 blkio.weight (or
    /// blkio.bfq.weight) and one `MAJ:MIN N` line per device in blkio.throttle.{read,write}_{bps,iops}_device.
    /// A device limited before and not now is written back to no limit (v1: 0; v2: max).
    func applyIO(_ limits: CgroupLimits, v2Directory: String?) throws {
        let dir: String
        if let v2Directory {
            dir = v2Directory
        } else if let v1 = directory("blkio") {
            dir = v1
        } else {
            if limits.diskPriority != nil || !limits.blockIO.isEmpty {
                throw SysboxError(.unsupported, "limits.disk.priority and disk limits.read/limits.write need the blkio cgroup controller, which is not mounted")
            }
            return
        }
        let v2 = v2Directory != nil
        let weightFiles = v2 ? ["io.bfq.weight", "io.weight"] : ["blkio.bfq.weight", "blkio.weight"]
        if let file = weightFiles.map({ dir + "/" + $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            // Unset: the kernel's default (bfq 100; v1 blkio.weight 500; io.weight "default 100").
            let fallback = file.hasSuffix("bfq.weight") ? "100" : v2 ? "default 100" : "500"
            try Self.write(file, limits.ioWeight.map { v2 && !file.hasSuffix("bfq.weight") ? "default \($0)" : String($0) } ?? fallback)
        } else if limits.diskPriority != nil {
            throw SysboxError(.unsupported, Self.ioWeightMissing)
        }
        let wanted = Dictionary(uniqueKeysWithValues: limits.blockIO.map { ($0.device, $0) })
        if v2 {
            let file = dir + "/io.max"
            guard FileManager.default.fileExists(atPath: file) else {
                if !limits.blockIO.isEmpty {
                    throw SysboxError(.unsupported, "disk limits.read/limits.write need io.max (the cgroup2 io controller), which this host does not offer")
                }
                return
            }
            let before = ((try? Self.read(file)) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            for device in before where wanted[device] == nil { try Self.write(file, "\(device) rbps=max wbps=max riops=max wiops=max") }
            for l in limits.blockIO { try Self.write(file, Self.ioMaxLine(l)) }
            return
        }
        let files: [(String, KeyPath<BlockIOLimit, UInt64?>)] = [
            ("blkio.throttle.read_bps_device", \.readBytes), ("blkio.throttle.write_bps_device", \.writeBytes),
            ("blkio.throttle.read_iops_device", \.readIOPS), ("blkio.throttle.write_iops_device", \.writeIOPS)
        ]
        for (name, field) in files {
            let file = dir + "/" + name
            guard FileManager.default.fileExists(atPath: file) else {
                if !limits.blockIO.isEmpty { throw SysboxError(.unsupported, "disk limits.read/limits.write need \(name) (a kernel with CONFIG_BLK_DEV_THROTTLING)") }
                return
            }
            let before = ((try? Self.read(file)) ?? "").split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
            for device in before where wanted[device]?[keyPath: field] == nil { try Self.write(file, "\(device) 0") }
            for l in limits.blockIO { if let n = l[keyPath: field] { try Self.write(file, "\(l.device) \(n)") } }
        }
    }

    /// One io.max line: every field, `max` where there is no limit.
    static func ioMaxLine(_ l: BlockIOLimit) -> String {
        let f = { (v: UInt64?) in v.map(String.init) ?? "max" }
        return "\(l.device) rbps=\(f(l.readBytes)) wbps=\(f(l.writeBytes)) riops=\(f(l.readIOPS)) wiops=\(f(l.writeIOPS))"
    }

    /// Writes `value` to `path` when the kernel offers the file; when it does not, an error saying `what`
    /// if the value was `needed` (a key is set), else nothing.
    static func writeIfPresent(_ path: String, _ value: String, needed: Bool, what: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            if needed { throw SysboxError(.unsupported, what) }
            return
        }
        try write(path, value)
    }

    /// The devices a container may use (LXC's default list): any character or block device may be
    /// created (`m`: systemd's PrivateDevices makes nodes), but only these opened: null, zero, full,
    /// random, urandom, tty, console, ptmx, the ptys (136:*), fuse (10:229) and tun (10:200). No block
    /// device can be read or written.
    static let allowedDevices = [
        "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm",
        "c 136:* rwm", "c 10:229 rwm", "c 10:200 rwm"
    ]

    /// Applies the device allow-list (`allowedDevices`) to the container's cgroup: v1 `devices.deny`
    /// "a" then one `devices.allow` write per entry (the kernel keeps the list; children inherit it and
    /// only host root may widen it); and on its cgroup2 directory the same list as an eBPF device
    /// program (`DeviceProgram`, attached with BPF_F_ALLOW_MULTI), the only form cgroup2 has. Both
    /// apply on a hybrid host.
    public func restrictDevices() throws {
        if let dir = directory("devices") {
            try Self.write(dir + "/devices.deny", "a")
            for entry in Self.allowedDevices { try Self.write(dir + "/devices.allow", entry) }
        }
        if let v2 = layout.hierarchies.first(where: \.isV2) {
            let dir = v2.mountPoint + "/" + relative
            let program = DeviceProgram.build(Self.allowedDevices.compactMap(DeviceProgram.Rule.init))
            let rc = program.withUnsafeBufferPointer { sysbox_cgroup_device_program(dir, $0.baseAddress, UInt32($0.count)) }
            guard rc == 0 else { throw SysboxError(.io, "cannot attach the device allow-list to cgroup \(dir): \(Host.errnoText(-rc))") }
        }
    }

    /// Memory, CPU time and process count; nil where a controller is missing.
    public func stats() -> CgroupStats {
        var s = CgroupStats()
        if layout.isUnified {
            let dir = layout.hierarchies[0].mountPoint + "/" + relative
            s.memoryBytes = (try? Self.read(dir + "/memory.current")).flatMap { UInt64($0) }
            if let stat = try? Self.read(dir + "/cpu.stat"),
                let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("usage_usec ") }),
                let usec = UInt64(line.split(separator: " ")[1])
            {
                s.cpuNanoseconds = usec * 1000
            }
            s.processes = (try? Self.read(dir + "/pids.current")).flatMap { Int($0) }
            return s
        }
        s.memoryBytes = directory("memory").flatMap { try? Self.read($0 + "/memory.usage_in_bytes") }.flatMap { UInt64($0) }
        s.cpuNanoseconds = directory("cpuacct").flatMap { try? Self.read($0 + "/cpuacct.usage") }.flatMap { UInt64($0) }
        s.processes = directory("pids").flatMap { try? Self.read($0 + "/pids.current") }.flatMap { Int($0) }
        return s
    }

    /// Pids in the container's cgroup (any hierarchy that lists them).
    public func pids() -> [Int32] {
        for dir in directories {
            if let text = try? Self.read(dir + "/cgroup.procs") {
                return text.split(separator: "\n").compactMap { Int32($0) }
            }
        }
        return []
    }

    /// Removes the cgroup (children first) and its sysbox parents when they are empty. Missing is fine.
    public func remove() throws {
        for h in layout.hierarchies {
            let dir = h.mountPoint + "/" + relative
            try Self.removeTree(dir)
            var parent = (dir as NSString).deletingLastPathComponent
            while parent.count > h.mountPoint.count {
                if rmdir(parent) != 0 { break }
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
    }

    /// rmdir of a cgroup directory and its sub-cgroups, deepest first (the container's own systemd may
    /// have made some). A cgroup still holding processes fails with EBUSY.
    static func removeTree(_ dir: String) throws {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for entry in entries {
            var st = stat()
            if lstat(dir + "/" + entry, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { try removeTree(dir + "/" + entry) }
        }
        if rmdir(dir) != 0 && errno != ENOENT {
            throw SysboxError(.io, "cannot remove cgroup \(dir): \(Host.errnoText(errno))")
        }
    }

    /// The filesystems that give the container its cgroup tree at /sys/fs/cgroup (its cgroup namespace
    /// makes each one start at the container's own cgroup): a tmpfs holding one mount per v1 hierarchy
    /// (plus the hybrid cgroup2 as `unified`), remounted read-only; on pure v2 one cgroup2 mount.
    public var containerMounts: [(target: String, fstype: String?, options: String?, flags: UInt, mkdir: Bool)] {
        containerMounts(unifiedOnly: false)
    }

    /// The cgroup mounts of the container; `unifiedOnly` shows only the cgroup2 tree at /sys/fs/cgroup
    /// (on a hybrid host: the unified hierarchy, without controllers, while the limits stay on the v1
    /// hierarchies the container is placed in).
    public func containerMounts(unifiedOnly: Bool) -> [(target: String, fstype: String?, options: String?, flags: UInt, mkdir: Bool)] {
        let nosuid = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if layout.isUnified || (unifiedOnly && layout.hierarchies.contains(where: \.isV2)) {
            return [("sys/fs/cgroup", "cgroup2", nil, nosuid, false)]
        }
        var out: [(String, String?, String?, UInt, Bool)] = [("sys/fs/cgroup", "tmpfs", "mode=755", nosuid, false)]
        for h in layout.hierarchies {
            let name = (h.mountPoint as NSString).lastPathComponent
            guard Names.problem(name, as: .profile) == nil else { continue }
            if h.isV2 {
                out.append(("sys/fs/cgroup/\(name)", "cgroup2", nil, nosuid, true))
            } else {
                let options = h.controllers.contains { $0.hasPrefix("name=") } ? "none," + h.controllers.joined(separator: ",") : h.controllers.joined(separator: ",")
                out.append(("sys/fs/cgroup/\(name)", "cgroup", options, nosuid, true))
            }
        }
        out.append(("sys/fs/cgroup", nil, "mode=755", UInt(MS_REMOUNT | MS_RDONLY) | nosuid, false))
        return out
    }

    static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw SysboxError(.io, "cannot read \(path): \(error.localizedDescription)", cause: error)
        }
    }

    static func write(_ path: String, _ value: String) throws {
        let fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC)
        guard fd >= 0 else { throw SysboxError(.io, "cannot open \(path): \(Host.errnoText(errno))") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        let n = bytes.isEmpty ? Glibc.write(fd, "\n", 1) : bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard n >= 0 else { throw SysboxError(.io, "cannot write \(value) to \(path): \(Host.errnoText(errno))") }
    }

    /// Moves the calling process (a monitor) into `sysbox/<hash>/.monitors` in every hierarchy, out of
    /// the cgroup of whoever ran `start` (a systemd unit or login session being stopped must not take
    /// the containers with it). Best effort: a failure leaves the monitor where it was.
    public static func enterMonitorCgroup(layout: CgroupLayout, stateDirectory: String) {
        // Parents included (a network monitor may come first after a boot): as create() makes them.
        let monitors = ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: ".monitors")
        try? monitors.create()
        // Where it is already (launched into the cgroup2 one), it stays: a cgroup.procs write takes the
        // threadgroup rwsem, whose RCU grace period stalls every fork on the host. A single-threaded
        // process moves itself through the v1 `tasks` files, which needs no such lock.
        let now = (try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8)).map { parseProcCgroup($0, layout: layout) }
        let here = Set((now?.tasks ?? []) + (now?.v2Directory.map { [$0 + "/"] } ?? []))
        let single = isSingleThreaded
        for h in layout.hierarchies {
            let dir = h.mountPoint + "/" + monitors.relative
            if here.contains(h.isV2 ? dir + "/" : dir + "/tasks") { continue }
            let file = selfMoveFile(dir, in: h, singleThreaded: single)
            // Another monitor leaving may rmdir the empty `.monitors` between create and the move: again.
            for _ in 0..<20 {
                if (try? write(file, "0")) != nil { break }
                try? monitors.create()
            }
        }
    }

    /// Leaves the monitors' cgroup for the root cgroup and removes it (and the sysbox parents) when this
    /// was the last monitor.
    public static func leaveMonitorCgroup(layout: CgroupLayout, stateDirectory: String) {
        let single = isSingleThreaded
        for h in layout.hierarchies {
            let base = h.mountPoint + "/sysbox/" + hash(stateDirectory)
            guard FileManager.default.fileExists(atPath: base + "/.monitors") else { continue }
            try? write(selfMoveFile(h.mountPoint, in: h, singleThreaded: single), "0")
            for dir in [base + "/.monitors", base, h.mountPoint + "/sysbox"] where rmdir(dir) != 0 { break }
        }
    }

    /// The host's online CPU ids (/sys/devices/system/cpu/online, e.g. "0-1").
    public static func onlineCPUs() -> [Int] {
        let text = (try? read("/sys/devices/system/cpu/online")) ?? ""
        if case let .set(ids)? = try? Values.cpu(text.contains("-") || text.contains(",") ? text : "\(text)-\(text)") { return ids }
        return []
    }

    /// Total memory of the host (MemTotal), for `limits.memory` percentages.
    static func hostMemory() -> UInt64 {
        let text = (try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
            let kb = UInt64(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }
}
