/// One filter of `sysbox list`: a name prefix or regular expression, or `KEY=VALUE` where KEY is status
/// (or state), image, profile, name or a config key (a value with regex syntax is a regular expression
/// over the whole value, as LXD reads it). Parsed and checked once (`init(parsing:)`), then matched against
/// each container (`matches`). Pure: no system calls, no database.
public struct ContainerFilter: Sendable, Equatable {
    /// What a filter compares.
    public enum Criterion: Sendable, Equatable {
        /// A filter without `=`: the container's name starts with this, or matches it as a regular
        /// expression (LXD's rule: `regexMatches`).
        case namePrefix(String)
        /// `status=` or `state=`, in any case.
        case status(ContainerStatus)
        /// `image=`: the image the container was created from, exactly.
        case image(String)
        /// `profile=`: one of the container's profiles.
        case profile(String)
        /// `name=`: the whole name.
        case name(String)
        /// Any other key: a config key compared by type with the expanded config
        /// (`InstanceConfig.filterMatches`).
        case config(key: String, value: String)
    }

    public let criterion: Criterion

    public init(_ criterion: Criterion) { self.criterion = criterion }

    /// The statuses a `status=` filter accepts, as users write them (lower case).
    public static let statusNames: [String] = ContainerStatus.allCases.map { $0.rawValue.lowercased() }

    /// Parses one filter argument.
    /// - Throws: `SysboxError(.invalidArgument)`: an unknown status (with a suggestion and the statuses
    ///   accepted), a config key that is malformed or unknown, or a value not of the key's type
    ///   (`InstanceConfig.validateFilter`).
    public init(parsing text: String) throws {
        guard let eq = text.firstIndex(of: "=") else {
            try Self.checkPattern(text, in: "filter \(Names.quote(text))")
            criterion = .namePrefix(text)
            return
        }
        let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
        switch key {
        case "status", "state":
            guard let status = ContainerStatus.allCases.first(where: { $0.rawValue.lowercased() == value.lowercased() }) else {
                throw SysboxError(.invalidArgument, "unknown status \(Names.quote(value)) in filter \(key)\(Self.statusHint(value))")
            }
            criterion = .status(status)
        case "image": criterion = .image(value)
        case "profile": criterion = .profile(value)
        case "name":
            try Self.checkPattern(value, in: "filter \(key)")
            criterion = .name(value)
        default:
            if Self.pattern(value) == nil {
                try InstanceConfig.validateFilter(key, value)
            } else {
                // A regular expression (LXD's): not checked against the key's type, only compiled.
                try InstanceConfig.validateFilter(key, "")
                try Self.checkPattern(value, in: "filter \(key)")
            }
            criterion = .config(key: key, value: value)
        }
    }

    /// The regular expression a filter value is read as, LXD's way: whole-value (`^…$` added) unless it
    /// holds `^` or `$`; nil when it has no regex syntax at all (then it is a plain value).
    static func pattern(_ text: String) -> String? {
        guard text.contains(where: { ".*+?[](){}|\\^$".contains($0) }) else { return nil }
        return text.contains("^") || text.contains("$") ? text : "^(?:" + text + ")$"
    }

    /// Whether `actual` matches `text` read as a regular expression (false when it has no regex syntax).
    static func regexMatches(_ text: String, _ actual: String) -> Bool {
        guard let p = pattern(text), let regex = try? Regex(p) else { return false }
        return (try? regex.firstMatch(in: actual)) != nil
    }

    /// Refuses a value with regex syntax that does not compile, in one line.
    private static func checkPattern(_ text: String, in what: String) throws {
        guard let p = pattern(text) else { return }
        do {
            _ = try Regex(p)
        } catch {
            throw SysboxError(.invalidArgument, "\(what): \(Names.quote(text)) is not a valid regular expression; fix it (e.g. web.*) or give a plain name prefix")
        }
    }

    /// Parses every filter argument, in order; the first bad one throws (see `init(parsing:)`).
    public static func parse(_ texts: [String]) throws -> [ContainerFilter] {
        try texts.map(ContainerFilter.init(parsing:))
    }

    /// Whether `view` passes this filter.
    public func matches(_ view: ContainerView) -> Bool {
        switch criterion {
        case .namePrefix(let prefix): return view.name.hasPrefix(prefix) || Self.regexMatches(prefix, view.name)
        case .status(let status): return view.status == status
        case .image(let image): return view.record.image == image
        case .profile(let profile): return view.profiles.contains(profile)
        case .name(let name): return view.name == name || Self.regexMatches(name, view.name)
        case .config(let key, let value):
            return InstanceConfig.filterMatches(key, wanted: value, actual: view.expanded.config[key])
                || Self.regexMatches(value, view.expanded.config[key] ?? InstanceConfig.defaultValue(key) ?? "")
        }
    }

    /// "; did you mean X? Use a, b or c" for an unknown status, listing every status accepted.
    private static func statusHint(_ value: String) -> String {
        let names = statusNames
        let listed = names.dropLast().joined(separator: ", ") + (names.count > 1 ? " or " : "") + (names.last ?? "")
        return Suggest.hint(value.lowercased(), names, then: "use \(listed)")
    }
}

extension Array where Element == ContainerFilter {
    /// Whether `view` passes every filter (all must match; no filters match everything).
    public func allMatch(_ view: ContainerView) -> Bool { allSatisfy { $0.matches(view) } }
}
