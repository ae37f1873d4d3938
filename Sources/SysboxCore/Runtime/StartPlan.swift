import Foundation

/// Everything a container's monitor needs to boot it, computed by `start` from the database and written
/// to `containers/NAME/start.json`; the monitor reads it and never needs the configuration model.
public struct StartPlan: Codable, Sendable, Equatable {
    /// One step of building the container's filesystem: a mount, a device node, a link or a file. The
    /// plan holds them all, in the order the child executes them (spawn.c's run_entry, one case per
    /// kind; `sysbox_entry_kind` in CSysbox.h says what each does). Built by `StartPlanner`.
    public struct Mount: Codable, Sendable, Equatable {
        /// The C side's `SYSBOX_ENTRY_*`, one for one (`Spawner.entryKind`).
        public enum Kind: String, Codable, Sendable, CaseIterable {
            case rootfs, directory, proc, sysfs, tmpfs, devNode = "dev-node", devpts, mqueue, symlink, console, bind
            case maskFile = "mask-file", maskDir = "mask-dir", file, rebind, release, cgroup, remount, idmapped, sysctl
        }

        /// What `create` makes when a target resolved inside the rootfs is missing.
        public enum Create: String, Codable, Sendable {
            case directory, file
        }

        /// MS_* mount flags, by name.
        public enum Flag: String, Codable, Sendable {
            case readonly = "ro", nosuid, nodev, noexec, strictatime, bind, rec, remount
        }

        public var kind: Kind
        /// Relative to the rootfs (no leading `/`, normalised, no `..`); absolute for `rootfs`.
        public var target: String
        /// Host path (bind, mask-file, rootfs bind), link target (symlink), or the filesystem's source name.
        public var source: String?
        public var fstype: String?
        /// Mount data ("mode=755,size=65536k").
        public var options: String?
        public var flags: [Flag]?
        /// mkdir mode of the target before a mount, or a device node's mode.
        public var mode: UInt32?
        /// Resolved inside the rootfs and created as this when missing.
        public var create: Create?
        public var major: UInt32?
        public var minor: UInt32?
        /// What a `file` entry writes.
        public var content: String?
        /// The configuration device a `bind` comes from.
        public var device: String?

        public init(
            _ kind: Kind, _ target: String, source: String? = nil, fstype: String? = nil, options: String? = nil,
            flags: [Flag]? = nil, mode: UInt32? = nil, create: Create? = nil, major: UInt32? = nil, minor: UInt32? = nil,
            content: String? = nil, device: String? = nil
        ) {
            self.kind = kind
            self.target = target
            self.source = source
            self.fstype = fstype
            self.options = options
            self.flags = flags
            self.mode = mode
            self.create = create
            self.major = major
            self.minor = minor
            self.content = content
            self.device = device
        }
    }

    public var name: String
    public var uuid: String
    public var initPath: String
    public var initArgs: [String]
    public var environment: [String]
    public var stopSignal: Int32
    /// The complete, ordered list of what the child does to build the container's filesystem.
    public var mounts: [Mount]
    public var limits: CgroupLimitsPlan
    public var ephemeral: Bool
    /// NICs to attach before init runs.
    public var nics: [Nic]?
    /// An unprivileged container's user namespace; nil: privileged (container root is host root).
    public var userNamespace: UserNamespace?
    /// `limits.kernel.*`: set on init by the monitor before it runs (prlimit), and on every exec.
    public var rlimits: [Rlimits.Limit]?

    /// The ids of an unprivileged container: what the monitor writes to its init's uid_map and gid_map,
    /// and the host ids of its root (who owns its delegated cgroups and its console).
    public struct UserNamespace: Codable, Sendable, Equatable {
        /// `/proc/PID/uid_map` text ("0 1000000 65536\n").
        public var uidMap: String
        public var gidMap: String
        /// The host uid and gid of the container's root.
        public var rootUID: UInt32
        public var rootGID: UInt32

        public init(uidMap: String, gidMap: String, rootUID: UInt32, rootGID: UInt32) {
            self.uidMap = uidMap
            self.gidMap = gidMap
            self.rootUID = rootUID
            self.rootGID = rootGID
        }
    }

    /// The files the plan writes into the container (`file` entries), as absolute paths.
    var writtenFiles: [String] { mounts.filter { $0.kind == .file }.map { "/" + $0.target } }

    /// `CgroupLimits` in a stable Codable form (a field at its default is nil, left out of start.json).
    public struct CgroupLimitsPlan: Codable, Sendable, Equatable {
        public var memoryBytes: UInt64?
        public var cpuCount: Int?
        public var cpuSet: [Int]?
        public var pidsMax: Int64?
        public var cpuQuota: Int64?
        public var cpuPeriod: Int64?
        public var cpuPriority: Int?
        public var memorySoft: Bool?
        public var memorySwap: Bool?
        public var diskPriority: Int?
        public var blockIO: [BlockIOLimit]?

        init(_ l: CgroupLimits) {
            memoryBytes = l.memoryBytes
            cpuCount = l.cpuCount
            cpuSet = l.cpuSet
            pidsMax = l.pidsMax
            cpuQuota = l.cpuQuota
            cpuPeriod = l.cpuPeriod
            cpuPriority = l.cpuPriority
            memorySoft = l.memorySoft
            memorySwap = l.memorySwap
            diskPriority = l.diskPriority
            blockIO = l.blockIO.isEmpty ? nil : l.blockIO
        }

        var limits: CgroupLimits {
            CgroupLimits(
                memoryBytes: memoryBytes, cpuCount: cpuCount, cpuSet: cpuSet, pidsMax: pidsMax, cpuQuota: cpuQuota, cpuPeriod: cpuPeriod,
                cpuPriority: cpuPriority, memorySoft: memorySoft, memorySwap: memorySwap, diskPriority: diskPriority, blockIO: blockIO ?? [])
        }
    }

    /// Writes start.json (atomically, not synced: it is rewritten at every start) in the compact form
    /// `encoded()` gives.
    func save(to path: String) throws {
        try Host.writeAtomically(String(decoding: try encoded(), as: UTF8.self), to: path, mode: 0o600, durable: false)
    }

    /// The plan as start.json holds it: compact JSON on one line, keys sorted (the same plan always
    /// gives the same bytes), slashes unescaped. Compact rather than pretty-printed: the file is read
    /// by the monitor on every start (about 40% fewer bytes for JSONDecoder to scan); `jq .` shows it
    /// indented. Nil fields are left out, as Codable does.
    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// The image's stop signal from start.json, read alone: a container started by an earlier sysbox
    /// build (whose plan this build cannot decode whole) still stops with its own signal after an
    /// upgrade. nil when the file is missing or has no `stopSignal`.
    static func stopSignal(at path: String) -> Int32? {
        struct Signal: Decodable { var stopSignal: Int32 }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return (try? JSONDecoder().decode(Signal.self, from: data))?.stopSignal
    }

    /// The `limits.kernel.*` of the plan at `path`, read alone (for exec: what init got at its start).
    /// Empty when the file is missing or has none.
    static func rlimits(at path: String) -> [Rlimits.Limit] {
        struct Limits: Decodable { var rlimits: [Rlimits.Limit]? }
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return (try? JSONDecoder().decode(Limits.self, from: data))?.rlimits ?? []
    }

    /// Reads start.json written by this build; a plan it cannot decode is an error (it is rewritten at
    /// each start; what `stop` needs of an older build's plan, `stopSignal(at:)` reads).
    static func load(from path: String) throws -> StartPlan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SysboxError(.io, "cannot read \(path)")
        }
        do { return try JSONDecoder().decode(StartPlan.self, from: data) } catch {
            throw SysboxError(.io, "cannot read the start plan \(path) (written by another sysbox build?): \(error)", cause: error)
        }
    }
}

/// The hardening every container gets (privileged mode): capabilities dropped from the bounding set,
/// masked paths, read-only kernel tunables.
enum Hardening {
    /// CAP_SYS_MODULE 16, CAP_SYS_RAWIO 17, CAP_SYS_TIME 25, CAP_MAC_OVERRIDE 32, CAP_MAC_ADMIN 33.
    static let droppedCapabilities: [Int] = [16, 17, 25, 32, 33]

    static var dropMask: UInt64 { droppedCapabilities.reduce(0) { $0 | (1 << UInt64($1)) } }

    /// Masked with an empty read-only file (files) or an empty read-only tmpfs (directories), both made
    /// by sysbox itself; missing ones are skipped.
    static let maskedFiles = [
        "proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug", "proc/latency_stats",
        "proc/timer_stats", "proc/kallsyms"
    ]
    static let maskedDirectories = ["proc/acpi", "proc/scsi", "proc/asound", "sys/firmware", "sys/devices/virtual/powercap"]

    /// Bound onto themselves read-only (true) or read-write (false), in this order: /proc/sys read-only
    /// but /proc/sys/net writable (the container has its own network namespace).
    static let rebinds: [(String, Bool)] = [
        ("proc/sys", true), ("proc/sys/net", false), ("proc/sysrq-trigger", true),
        ("proc/bus", true), ("proc/fs", true), ("proc/irq", true)
    ]
}
