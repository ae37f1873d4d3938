import CSysbox
import Foundation

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

/// Resource limits from a container's config, ready for the cgroup files.
public struct CgroupLimits: Sendable, Equatable {
    public var memoryBytes: UInt64?
    public var cpuCount: Int?
    public var cpuSet: [Int]?
    public var pidsMax: Int64?

    public init(memoryBytes: UInt64? = nil, cpuCount: Int? = nil, cpuSet: [Int]? = nil, pidsMax: Int64? = nil) {
        self.memoryBytes = memoryBytes
        self.cpuCount = cpuCount
        self.cpuSet = cpuSet
        self.pidsMax = pidsMax
    }

    /// From expanded config; `limits.memory` percentages are of `hostMemory` bytes.
    public init(config: [String: String], hostMemory: UInt64) throws {
        if let text = config["limits.memory"] {
            switch try Values.memory(text) {
            case let .bytes(n): memoryBytes = n
            case let .percent(p): memoryBytes = hostMemory / 100 * UInt64(p)
            }
        }
        if let text = config["limits.cpu"] {
            switch try Values.cpu(text) {
            case let .count(n): cpuCount = n
            case let .set(ids): cpuSet = ids
            }
        }
        if let text = config["limits.processes"] { pidsMax = try Values.integer(text) }
    }

    /// "0-2,5" for [0, 1, 2, 5].
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
        let wanted = ["cpu", "cpuset", "memory", "pids"].filter { available.split(separator: " ").contains(Substring($0)) }
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

    /// Writes the limits (an unset limit is written as "no limit", so a removed key takes effect live).
    public func apply(_ limits: CgroupLimits) throws {
        if layout.isUnified {
            let dir = layout.hierarchies[0].mountPoint + "/" + relative
            try Self.write(dir + "/memory.max", limits.memoryBytes.map(String.init) ?? "max")
            try Self.write(dir + "/cpu.max", limits.cpuCount.map { "\($0 * 100_000) 100000" } ?? "max 100000")
            if FileManager.default.fileExists(atPath: dir + "/cpuset.cpus") {
                try Self.write(dir + "/cpuset.cpus", limits.cpuSet.map(CgroupLimits.cpuList) ?? "")
            } else if limits.cpuSet != nil {
                throw SysboxError(.unsupported, "limits.cpu as a CPU set needs the cpuset controller, which this host's cgroup2 does not offer")
            }
            try Self.write(dir + "/pids.max", limits.pidsMax.map(String.init) ?? "max")
            return
        }
        if let dir = directory("memory") {
            try Self.write(dir + "/memory.limit_in_bytes", limits.memoryBytes.map(String.init) ?? "-1")
        } else if limits.memoryBytes != nil {
            throw SysboxError(.unsupported, "limits.memory needs the memory cgroup controller, which is not mounted")
        }
        if let dir = directory("cpu") {
            try Self.write(dir + "/cpu.cfs_period_us", "100000")
            try Self.write(dir + "/cpu.cfs_quota_us", limits.cpuCount.map { String($0 * 100_000) } ?? "-1")
        }
        if let dir = directory("cpuset") {
            let parent = (dir as NSString).deletingLastPathComponent
            try Self.write(dir + "/cpuset.cpus", try limits.cpuSet.map(CgroupLimits.cpuList) ?? Self.read(parent + "/cpuset.cpus"))
        }
        if let dir = directory("pids") {
            try Self.write(dir + "/pids.max", limits.pidsMax.map(String.init) ?? "max")
        } else if limits.pidsMax != nil {
            throw SysboxError(.unsupported, "limits.processes needs the pids cgroup controller, which is not mounted")
        }
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
