import SysboxStore

/// What a change to a running container's expansion leaves for its next start, and the note that says
/// so: devices are set up at start, and so are the config keys that are not live (the security keys:
/// `boot.*` and `snapshots.*` are read when they are used, never at a start).
public enum PendingChange {
    /// Whether `key` takes effect only when the container starts.
    static func startOnly(_ key: String) -> Bool {
        if InstanceConfig.key(key) == nil, let family = InstanceConfig.prefix(of: key) { return !family.live && !family.readOnly }
        guard let known = InstanceConfig.key(key), !known.live else { return false }
        return !key.hasPrefix("boot.") && !key.hasPrefix("snapshots.") && !key.hasPrefix("volatile.")
    }

    /// What differs between two expansions that only a start applies: "devices" first (when any device
    /// was added, removed or changed), then the start-only keys that changed, sorted.
    public static func what(before: ConfigLayer, after: ConfigLayer) -> [String] {
        // A disk's I/O limits (limits.*) apply live: only the rest of a device waits for a start.
        let setUp = { (devices: DeviceMap) in devices.mapValues { $0.filter { !$0.key.hasPrefix("limits.") } } }
        var out: [String] = setUp(before.devices) == setUp(after.devices) ? [] : ["devices"]
        let keys = Set(before.config.keys).union(after.config.keys)
        out += keys.filter { startOnly($0) && before.config[$0] != after.config[$0] }.sorted()
        return out
    }

    /// One line naming what waits for the next start and which running containers it concerns, e.g.
    /// "devices are set up at start: c1 gets this change at the next start (sysbox restart c1)"; nil
    /// when nothing waits.
    public static func note(_ pending: [(container: String, what: [String])]) -> String? {
        let concerned = pending.filter { !$0.what.isEmpty }
        guard !concerned.isEmpty else { return nil }
        var what: [String] = []
        for item in concerned.flatMap(\.what) where !what.contains(item) { what.append(item) }
        let names = concerned.map(\.container)
        let subject = what.count == 1 ? what[0] : what.dropLast().joined(separator: ", ") + " and " + (what.last ?? "")
        let verb = what == ["devices"] || what.count > 1 ? "are" : "is"
        return
            "\(subject) \(verb) set up at start: \(names.joined(separator: ", ")) \(names.count == 1 ? "gets" : "get") this change at the next start (sysbox restart \(names.joined(separator: " ")))"
    }
}
