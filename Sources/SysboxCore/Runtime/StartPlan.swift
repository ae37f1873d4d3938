import Foundation

/// Everything a container's monitor needs to boot it, computed by `start` from the database and written
/// to `containers/NAME/start.json`; the monitor reads it and never needs the configuration model.
public struct StartPlan: Codable, Sendable, Equatable {
    public struct Disk: Codable, Sendable, Equatable {
        public var device: String
        public var source: String
        /// Path inside the container, relative (no leading `/`), normalised, no `..`.
        public var target: String
        public var readonly: Bool
        public var isDirectory: Bool
        /// MS_NOSUID | MS_NODEV | MS_NOEXEC of the source's mount, kept when remounting read-only.
        public var keepFlags: UInt64?
    }

    public struct File: Codable, Sendable, Equatable {
        public var path: String
        public var content: String
    }

    public var name: String
    public var uuid: String
    public var rootfsPath: String
    public var rootfsType: String?
    public var rootfsOptions: String?
    public var initPath: String
    public var initArgs: [String]
    public var environment: [String]
    public var stopSignal: Int32
    public var disks: [Disk]
    public var files: [File]
    public var limits: CgroupLimitsPlan
    public var ephemeral: Bool
    /// NICs to attach before init runs (optional: plans written before sysbox had networking).
    public var nics: [Nic]?
    /// `unified`: init sees only the cgroup2 tree (see `TemplateManifest.cgroup`).
    public var cgroupView: String?

    /// `CgroupLimits` in a stable Codable form.
    public struct CgroupLimitsPlan: Codable, Sendable, Equatable {
        public var memoryBytes: UInt64?
        public var cpuCount: Int?
        public var cpuSet: [Int]?
        public var pidsMax: Int64?

        init(_ l: CgroupLimits) {
            memoryBytes = l.memoryBytes
            cpuCount = l.cpuCount
            cpuSet = l.cpuSet
            pidsMax = l.pidsMax
        }

        var limits: CgroupLimits { CgroupLimits(memoryBytes: memoryBytes, cpuCount: cpuCount, cpuSet: cpuSet, pidsMax: pidsMax) }
    }

    func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try Host.writeAtomically(String(decoding: try encoder.encode(self), as: UTF8.self), to: path, mode: 0o600, durable: false)
    }

    static func load(from path: String) throws -> StartPlan {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SysboxError(.io, "cannot read \(path)")
        }
        return try JSONDecoder().decode(StartPlan.self, from: data)
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
    static let maskedFiles = ["proc/kcore", "proc/keys", "proc/timer_list", "proc/sched_debug", "proc/latency_stats",
                              "proc/timer_stats", "proc/kallsyms"]
    static let maskedDirectories = ["proc/acpi", "proc/scsi", "proc/asound", "sys/firmware", "sys/devices/virtual/powercap"]

    /// Bound onto themselves read-only (true) or read-write (false), in this order: /proc/sys read-only
    /// but /proc/sys/net writable (the container has its own network namespace).
    static let rebinds: [(String, Bool)] = [("proc/sys", true), ("proc/sys/net", false), ("proc/sysrq-trigger", true),
                                            ("proc/bus", true), ("proc/fs", true), ("proc/irq", true)]
}
