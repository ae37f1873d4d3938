/// One instance config key: its type, default, whether a running container picks up a change
/// (`live`), and its validation.
public struct ConfigKey: Sendable {
    public enum ValueType: String, Sendable {
        case bool, integer, string, cpu, memory, cron, duration, pattern
    }

    public let name: String
    public let type: ValueType
    public let defaultValue: String?
    public let live: Bool
    public let summary: String
    let check: @Sendable (String) throws(ValueError) -> Void

    init(
        _ name: String, _ type: ValueType, default defaultValue: String? = nil, live: Bool, _ summary: String,
        check: @escaping @Sendable (String) throws(ValueError) -> Void
    ) {
        self.name = name
        self.type = type
        self.defaultValue = defaultValue
        self.live = live
        self.summary = summary
        self.check = check
    }
}

/// A family of keys sharing a prefix (`environment.*`, `user.*`, `volatile.*`).
public struct ConfigPrefix: Sendable {
    public let prefix: String
    public let live: Bool
    /// Users may not set these (`volatile.*` is sysbox's own bookkeeping).
    public let readOnly: Bool
    public let summary: String
    let checkSuffix: @Sendable (String) -> String?
    /// The check of a member's value, when the family has one.
    var checkValue: (@Sendable (String) throws(ValueError) -> Void)? = nil
}

/// Who is writing a key: users may not touch read-only keys; sysbox itself may.
public enum ConfigWriter: Sendable {
    case user, system
}

/// The registry of instance config keys (the subset of Incus's instance options sysbox implements).
public enum InstanceConfig {
    /// Every fixed key, sorted by name.
    public static let keys: [ConfigKey] = [
        ConfigKey(
            "boot.autostart", .bool, live: false,
            "sysbox autostart (at boot) starts the container: true always, false never, unset when it was running at the last shutdown or power loss"
        ) { v throws(ValueError) in
            _ = try Values.bool(v)
        },
        ConfigKey("boot.autostart.delay", .integer, default: "0", live: false, "seconds sysbox autostart waits after starting the container before its next start") {
            v throws(ValueError) in _ = try Values.integer(v, in: 0...86_400)
        },
        ConfigKey("boot.autostart.priority", .integer, default: "0", live: false, "higher starts first (sysbox autostart)") { v throws(ValueError) in
            _ = try Values.integer(v, in: -1_000_000...1_000_000)
        },
        ConfigKey(
            "boot.host_shutdown_timeout", .integer, default: "30", live: false,
            "seconds sysbox shutdown (host shutdown) waits for a clean stop before it kills the container"
        ) { v throws(ValueError) in _ = try Values.integer(v, in: 0...86_400) },
        ConfigKey("boot.stop.priority", .integer, default: "0", live: false, "higher stops first (sysbox shutdown, at host shutdown)") { v throws(ValueError) in
            _ = try Values.integer(v, in: -1_000_000...1_000_000)
        },
        ConfigKey("limits.cpu", .cpu, live: true, "CPU count (2) or pinned CPU set (0-1,3); unset: all CPUs") { v throws(ValueError) in _ = try Values.cpu(v) },
        ConfigKey(
            "limits.cpu.allowance", .string, live: true,
            "hard cap on CPU time: a share of one CPU (50%, 150%) or a time slice (25ms/100ms: quota/period); unset: none"
        ) { v throws(ValueError) in _ = try Values.cpuAllowance(v) },
        ConfigKey("limits.cpu.priority", .integer, default: "10", live: true, "CPU weight against other containers when the CPUs are busy, 0 to 10") {
            v throws(ValueError) in _ = try Values.integer(v, in: 0...10)
        },
        ConfigKey("limits.disk.priority", .integer, live: true, "I/O weight against other containers (blkio.weight, io.weight), 0 to 10; unset: the kernel's default") {
            v throws(ValueError) in _ = try Values.integer(v, in: 0...10)
        },
        ConfigKey("limits.memory", .memory, live: true, "memory limit in bytes (512MiB, 2GiB) or % of host memory; unset: none") { v throws(ValueError) in _ = try Values.memory(v)
        },
        ConfigKey(
            "limits.memory.enforce", .string, default: "hard", live: true,
            "hard: limits.memory is a ceiling; soft: it applies only when the host runs short of memory"
        ) { v throws(ValueError) in _ = try Values.memoryEnforce(v) },
        ConfigKey("limits.memory.swap", .bool, default: "true", live: true, "false: the container may not use swap (its memory stays in RAM)") {
            v throws(ValueError) in _ = try Values.bool(v)
        },
        ConfigKey("limits.processes", .integer, live: true, "maximum number of processes (pids cgroup); unset: none") { v throws(ValueError) in
            _ = try Values.integer(v, in: 1...4_194_304)
        },
        ConfigKey(
            "raw.idmap", .string, live: false,
            "host ids mapped into an unprivileged container, one a line: both|uid|gid HOST CONTAINER (ids or ranges, e.g. both 1000 1000, uid 50-60 500-510)"
        ) { v throws(ValueError) in _ = try RawIDMap.parse(v) },
        ConfigKey("security.idmap.base", .integer, live: false, "first host id of the container's own range (with security.idmap.isolated); unset: allocated") {
            v throws(ValueError) in _ = try Values.integer(v, in: 1...IDMap.maxID)
        },
        ConfigKey(
            "security.idmap.isolated", .bool, default: "true", live: false,
            "give an unprivileged container its own host id range, shared with no other container; false: the shared map"
        ) { v throws(ValueError) in _ = try Values.bool(v) },
        ConfigKey("security.idmap.size", .integer, default: "65536", live: false, "number of ids in an unprivileged container's map (at least 65536)") {
            v throws(ValueError) in try IDMapConfig.checkSize(v)
        },
        ConfigKey(
            "security.lxcfs", .bool, default: "true", live: false,
            "bind lxcfs's /proc and /sys files (meminfo, cpuinfo, stat, uptime, loadavg, diskstats, swaps, cpu/online) so they show the container's limits; false: the host's"
        ) { v throws(ValueError) in _ = try Values.bool(v) },
        ConfigKey(
            "security.nesting", .bool, default: "false", live: false,
            "unprivileged: a proc and a sysfs without masks at /dev/.lxc, so that namespaces made inside may mount their own (nested containers)"
        ) { v throws(ValueError) in _ = try Values.bool(v) },
        // true until sysbox has user namespaces: every container runs privileged, and false is refused at start.
        ConfigKey(
            "security.privileged", .bool, default: "false", live: false,
            "true: run without a user namespace (container root is host root); false (the default): container root is a host id range of its own"
        ) { v throws(ValueError) in _ = try Values.bool(v) },
        ConfigKey(
            "security.syscalls.allow", .string, live: false,
            "allowlist: only these syscalls (and what sysbox needs to start a process) are allowed, the rest get EPERM; not with security.syscalls.deny"
        ) {
            v throws(ValueError) in _ = try SeccompPolicy.names(v)
        },
        ConfigKey("security.syscalls.deny", .string, live: false, "more syscalls denied with EPERM (names separated by commas or spaces)") { v throws(ValueError) in
            _ = try SeccompPolicy.names(v)
        },
        ConfigKey("security.syscalls.deny_compat", .bool, default: "false", live: false, "deny the whole i386 (32-bit, int $0x80) syscall ABI with ENOSYS (x32 is always denied)") {
            v throws(ValueError) in _ = try Values.bool(v)
        },
        ConfigKey(
            "security.syscalls.deny_default", .bool, default: "true", live: false, "deny sysbox's default list of syscalls (kexec, modules, keyrings, open_by_handle_at, bpf…)"
        ) {
            v throws(ValueError) in _ = try Values.bool(v)
        },
        ConfigKey("snapshots.expiry", .duration, live: false, "lifetime of new snapshots, e.g. 2d or 1w 3d (M H d w m y)") { v throws(ValueError) in _ = try Values.expiry(v) },
        ConfigKey("snapshots.keep.last", .integer, live: false, "keep only the newest N scheduled snapshots (sysbox snapshot prune, schedule run); unset: keep all") {
            v throws(ValueError) in _ = try Values.integer(v, in: 1...100_000)
        },
        ConfigKey("snapshots.pattern", .pattern, default: "snap%d", live: false, "name of new snapshots; %d (at most once) is one more than the highest number in use") {
            v throws(ValueError) in try Values.snapshotPattern(v)
        },
        ConfigKey("snapshots.schedule", .cron, live: false, "cron expression or @hourly/@daily/@weekly/@monthly/@yearly/@startup; several separated by ', '") {
            v throws(ValueError) in _ = try CronSchedule.parse(v)
        }
    ]

    /// Key families.
    public static let prefixes: [ConfigPrefix] = [
        ConfigPrefix(prefix: "environment.", live: true, readOnly: false, summary: "environment variable for init and every exec") { suffix in
            let valid =
                suffix.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && suffix.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            return valid ? nil : "the variable name must be letters, digits and '_', not starting with a digit"
        },
        ConfigPrefix(
            prefix: "limits.kernel.", live: false, readOnly: false, summary: "resource limit (setrlimit) of init and every exec: N, unlimited or soft:hard",
            checkSuffix: Rlimits.problem(name:), checkValue: { v throws(ValueError) in _ = try Values.rlimit(v) }),
        ConfigPrefix(
            prefix: "linux.sysctl.", live: false, readOnly: false, summary: "a namespaced sysctl written inside the container at start (net.*, kernel.shm*, kernel.msg*…)",
            checkSuffix: Sysctls.problem(name:), checkValue: { v throws(ValueError) in try Sysctls.checkValue(v) }),
        ConfigPrefix(prefix: "user.", live: true, readOnly: false, summary: "free-form user metadata") { suffix in
            suffix.isEmpty ? "the key needs a name after 'user.'" : nil
        },
        ConfigPrefix(prefix: "volatile.", live: false, readOnly: true, summary: "sysbox's own state (read-only)") { suffix in
            suffix.isEmpty ? "the key needs a name after 'volatile.'" : nil
        }
    ]

    /// Families whose values are free text: they may start or end with spaces.
    static let freeTextPrefixes = ["user.", "environment."]

    /// Checks the form of a key name whatever it names: no whitespace, control characters or line
    /// breaks (they would never match a key, and would garble messages and listings).
    /// - Throws: `SysboxError(.invalidArgument)` quoting the key with the character made visible.
    public static func validateKeyName(_ name: String) throws {
        if name.isEmpty { throw SysboxError.invalid("a config key cannot be empty; give a key like limits.memory or user.NAME") }
        for (offset, scalar) in name.unicodeScalars.enumerated()
        where Names.isControl(scalar) || scalar.properties.isWhitespace {
            let what = Names.isControl(scalar) ? "control character \(Names.quote(String(scalar)))" : "space"
            throw SysboxError.invalid(
                "invalid config key \(Names.quote(name)): it has a \(what) at position \(offset + 1); keys have no spaces or control characters (e.g. limits.memory, user.role)")
        }
    }

    private static let byName: [String: ConfigKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    /// The fixed key named `name`, if any.
    public static func key(_ name: String) -> ConfigKey? { byName[name] }

    /// The family `name` belongs to, if any.
    public static func prefix(of name: String) -> ConfigPrefix? { prefixes.first { name.hasPrefix($0.prefix) } }

    /// Whether `name` is a known key or belongs to a known family (whatever its value).
    public static func isKnown(_ name: String) -> Bool { key(name) != nil || prefix(of: name) != nil }

    /// Whether a running container picks up a change of `name` without a restart.
    public static func isLive(_ name: String) -> Bool { key(name)?.live ?? prefix(of: name)?.live ?? false }

    /// The default of `name`, if it has one.
    public static func defaultValue(_ name: String) -> String? { key(name)?.defaultValue }

    /// Checks that `name` is a key `writer` may set, to `value`.
    /// - Throws: `SysboxError(.invalidArgument)`: unknown key (with a suggestion), read-only key, bad value.
    public static func validate(_ name: String, _ value: String, writer: ConfigWriter = .user) throws {
        try validateKeyName(name)
        func refuseSurroundingSpaces() throws {
            if let first = value.first, let last = value.last, first.isWhitespace || last.isWhitespace {
                throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(name): remove the spaces around it")
            }
        }
        if let key = byName[name] {
            try refuseSurroundingSpaces()
            do {
                try key.check(value)
            } catch {
                throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(name): \(error.message)", cause: error)
            }
            return
        }
        if let family = prefix(of: name) {
            if let problem = family.checkSuffix(String(name.dropFirst(family.prefix.count))) {
                throw SysboxError.invalid("invalid key \(name): \(problem)")
            }
            if family.readOnly && writer == .user {
                throw SysboxError.invalid("\(name) is read-only: \(family.prefix)* keys are set by sysbox itself")
            }
            if !freeTextPrefixes.contains(family.prefix) { try refuseSurroundingSpaces() }
            if value.contains("\0") { throw SysboxError.invalid("invalid value for \(name): it contains a NUL byte") }
            if family.prefix == "environment.", value.contains(where: \.isNewline) {
                throw SysboxError.invalid("invalid value for \(name): an environment variable cannot contain a line break")
            }
            if let check = family.checkValue {
                do { try check(value) } catch {
                    throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(name): \(error.message)", cause: error)
                }
            }
            return
        }
        throw SysboxError.invalid("unknown config key \(name)\(suggestion(for: name))")
    }

    /// Checks that `name` may be unset by `writer` (known key, not read-only for users).
    public static func validateUnset(_ name: String, writer: ConfigWriter = .user) throws {
        try validateKeyName(name)
        if byName[name] != nil { return }
        if let family = prefix(of: name), let problem = family.checkSuffix(String(name.dropFirst(family.prefix.count))) {
            throw SysboxError.invalid("invalid key \(name): \(problem)")
        }
        if let family = prefix(of: name) {
            if family.readOnly && writer == .user {
                throw SysboxError.invalid("\(name) is read-only: \(family.prefix)* keys are set by sysbox itself")
            }
            return
        }
        throw SysboxError.invalid("unknown config key \(name)\(suggestion(for: name))")
    }

    /// Checks a `KEY=VALUE` filter of `list`: a known key, and a value of the key's type (an empty value
    /// matches containers where the key is unset and has no default).
    /// - Throws: `SysboxError(.invalidArgument)` naming the filter and the fix.
    public static func validateFilter(_ name: String, _ value: String) throws {
        try validateKeyName(name)
        guard isKnown(name) else {
            throw SysboxError.invalid("unknown filter key \(name)\(suggestion(for: name, then: "use status, image, profile, name or a config key"))")
        }
        guard !value.isEmpty, let key = byName[name] else { return }
        do {
            try key.check(value)
        } catch {
            throw SysboxError.invalid("invalid filter value \(Names.quote(value)) for \(name): \(error.message)", cause: error)
        }
    }

    /// Whether a container whose (expanded) value of `name` is `actual` (nil: unset) matches the filter
    /// value `wanted`. Values are compared by type: booleans as booleans (`false` matches `0`, `no`,
    /// `Off` and an unset key whose default is false), integers as numbers, sizes as byte counts, CPU
    /// limits as counts or sets; everything else as text. An empty `wanted` matches an unset key
    /// without a default.
    public static func filterMatches(_ name: String, wanted: String, actual: String?) -> Bool {
        guard let actual = actual ?? defaultValue(name) else { return wanted.isEmpty }
        guard let key = byName[name] else { return actual == wanted }
        switch key.type {
        case .bool:
            if let a = try? Values.bool(actual), let b = try? Values.bool(wanted) { return a == b }
        case .integer:
            if let a = try? Values.integer(actual), let b = try? Values.integer(wanted) { return a == b }
        case .memory:
            if let a = try? Values.memory(actual), let b = try? Values.memory(wanted) { return a == b }
        case .cpu:
            if let a = try? Values.cpu(actual), let b = try? Values.cpu(wanted) { return a == b }
        case .string, .cron, .duration, .pattern:
            break
        }
        return actual == wanted
    }

    /// "; did you mean X?" for an unknown key, or "". Only for the end of a message.
    public static func suggestion(for name: String) -> String {
        closestKey(to: name).map { "; did you mean \($0)?" } ?? ""
    }

    /// "; did you mean X? Then…" for an unknown key, or "; then…": one clean sentence each.
    public static func suggestion(for name: String, then rest: String) -> String {
        guard let fix = closestKey(to: name) else { return "; " + rest }
        return "; did you mean \(fix)? " + rest.prefix(1).uppercased() + rest.dropFirst()
    }

    /// The known key (or family member) `name` most likely misspells.
    static func closestKey(to name: String) -> String? {
        if let fixed = Suggest.closest(to: name, in: keys.map(\.name)) { return fixed }
        // A misspelt family: "enviroment.FOO" → "environment.FOO".
        if let dot = name.firstIndex(of: ".") {
            let head = String(name[...dot])
            if let family = Suggest.closest(to: head, in: prefixes.map(\.prefix)) {
                return "\(family)\(name[name.index(after: dot)...])"
            }
        }
        return nil
    }
}
