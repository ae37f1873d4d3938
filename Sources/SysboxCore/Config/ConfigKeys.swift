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

    init(_ name: String, _ type: ValueType, default defaultValue: String? = nil, live: Bool, _ summary: String,
         check: @escaping @Sendable (String) throws(ValueError) -> Void) {
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
}

/// Who is writing a key: users may not touch read-only keys; sysbox itself may.
public enum ConfigWriter: Sendable {
    case user, system
}

/// The registry of instance config keys (the subset of Incus's instance options sysbox implements).
public enum InstanceConfig {
    /// Every fixed key, sorted by name.
    public static let keys: [ConfigKey] = [
        ConfigKey("boot.autostart", .bool, live: false, "start the container when sysbox starts containers at boot (unset: restore the last state)") { v throws(ValueError) in _ = try Values.bool(v) },
        ConfigKey("boot.autostart.priority", .integer, default: "0", live: false, "higher starts first") { v throws(ValueError) in _ = try Values.integer(v, in: -1_000_000...1_000_000) },
        ConfigKey("boot.stop.priority", .integer, default: "0", live: false, "higher stops first at host shutdown") { v throws(ValueError) in _ = try Values.integer(v, in: -1_000_000...1_000_000) },
        ConfigKey("limits.cpu", .cpu, live: true, "CPU count (2) or pinned CPU set (0-1,3); unset: all CPUs") { v throws(ValueError) in _ = try Values.cpu(v) },
        ConfigKey("limits.memory", .memory, live: true, "memory limit in bytes (512MiB, 2GiB) or % of host memory; unset: none") { v throws(ValueError) in _ = try Values.memory(v) },
        ConfigKey("limits.processes", .integer, live: true, "maximum number of processes (pids cgroup); unset: none") { v throws(ValueError) in _ = try Values.integer(v, in: 1...4_194_304) },
        ConfigKey("security.nesting", .bool, default: "false", live: true, "allow nested containers") { v throws(ValueError) in _ = try Values.bool(v) },
        ConfigKey("security.privileged", .bool, default: "false", live: false, "run without a user namespace (container root is host root)") { v throws(ValueError) in _ = try Values.bool(v) },
        ConfigKey("snapshots.expiry", .duration, live: false, "lifetime of new snapshots, e.g. 2d or 1w 3d (M H d w m y)") { v throws(ValueError) in _ = try Values.expiry(v) },
        ConfigKey("snapshots.pattern", .pattern, default: "snap%d", live: false, "name of new snapshots; %d is the next free number") { v throws(ValueError) in try Values.snapshotPattern(v) },
        ConfigKey("snapshots.schedule", .cron, live: false, "cron expression or @hourly/@daily/@weekly/@monthly/@yearly/@startup") { v throws(ValueError) in _ = try CronSchedule.parse(v) },
    ]

    /// Key families.
    public static let prefixes: [ConfigPrefix] = [
        ConfigPrefix(prefix: "environment.", live: true, readOnly: false, summary: "environment variable for init and every exec") { suffix in
            let valid = suffix.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                && suffix.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
            return valid ? nil : "the variable name must be letters, digits and '_', not starting with a digit"
        },
        ConfigPrefix(prefix: "user.", live: true, readOnly: false, summary: "free-form user metadata") { suffix in
            suffix.isEmpty ? "the key needs a name after 'user.'" : nil
        },
        ConfigPrefix(prefix: "volatile.", live: false, readOnly: true, summary: "sysbox's own state (read-only)") { suffix in
            suffix.isEmpty ? "the key needs a name after 'volatile.'" : nil
        },
    ]

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
        if let key = byName[name] {
            do {
                try key.check(value)
            } catch {
                throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(name): \(error.message)")
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
            if value.contains("\0") { throw SysboxError.invalid("invalid value for \(name): it contains a NUL byte") }
            if family.prefix == "environment.", value.contains(where: \.isNewline) {
                throw SysboxError.invalid("invalid value for \(name): an environment variable cannot contain a line break")
            }
            return
        }
        throw SysboxError.invalid("unknown config key \(name)\(suggestion(for: name))")
    }

    /// Checks that `name` may be unset by `writer` (known key, not read-only for users).
    public static func validateUnset(_ name: String, writer: ConfigWriter = .user) throws {
        if byName[name] != nil { return }
        if let family = prefix(of: name) {
            if family.readOnly && writer == .user {
                throw SysboxError.invalid("\(name) is read-only: \(family.prefix)* keys are set by sysbox itself")
            }
            return
        }
        throw SysboxError.invalid("unknown config key \(name)\(suggestion(for: name))")
    }

    /// "; did you mean X?" for an unknown key, or "".
    public static func suggestion(for name: String) -> String {
        if let fixed = Suggest.closest(to: name, in: keys.map(\.name)) { return "; did you mean \(fixed)?" }
        // A misspelt family: "enviroment.FOO" → "environment.FOO".
        if let dot = name.firstIndex(of: ".") {
            let head = String(name[...dot])
            if let family = Suggest.closest(to: head, in: prefixes.map(\.prefix)) {
                return "; did you mean \(family)\(name[name.index(after: dot)...])?"
            }
        }
        return ""
    }
}
