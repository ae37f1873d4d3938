import Foundation
import Yams

/// `--format` of list-like commands: `table`, `json`, `yaml`, `csv`; `table` and `csv` also take a
/// `,noheader` suffix (as in Incus).
public struct OutputFormat: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable { case table, json, yaml, csv }
    public var kind: Kind
    public var header: Bool

    /// Parses `table`, `csv,noheader`, …
    /// - Throws: `SysboxError(.invalidArgument)` naming the allowed formats.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let allowed = "use table, json, yaml or csv (table and csv take ,noheader)"
        guard let first = parts.first, let kind = Kind(rawValue: first) else {
            let word = parts.first ?? text
            throw SysboxError.invalid("unknown format \(Names.quote(text))\(Suggest.hint(word, Kind.allCases.map(\.rawValue), then: allowed))")
        }
        guard parts.count == 1 || (parts.count == 2 && parts[1] == "noheader" && (kind == .table || kind == .csv)) else {
            throw SysboxError.invalid("unknown format \(Names.quote(text)): the only option is ,noheader, and only table and csv take it (e.g. csv,noheader)")
        }
        self.kind = kind
        header = parts.count == 1
    }

    /// Renders rows of a table-like listing in this format, every cell being a list whose items are
    /// its lines (CSV joins them with commas). For free text, use `render(headers:cells:objects:width:)`.
    /// - Parameters:
    ///   - headers: column titles for table and CSV.
    ///   - rows: cells for table and CSV, one item per line.
    ///   - objects: the same items for JSON and YAML.
    ///   - width: the table's width limit (nil: none).
    public func render<T: Encodable>(headers: [String], rows: [[String]], objects: [T], width: Int?) throws -> String {
        try render(
            headers: headers, cells: rows.map { $0.map { .list($0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)) } },
            objects: objects, width: width)
    }

    /// Renders a table-like listing in this format.
    /// - Parameters:
    ///   - headers: column titles for table and CSV.
    ///   - cells: the rows for table and CSV: free text is kept whole (in CSV a line break stays a
    ///     quoted line break), lists are one item per line in tables and joined with commas in CSV.
    ///   - objects: the same items for JSON and YAML.
    ///   - width: the table's width limit (nil: none).
    public func render<T: Encodable>(headers: [String], cells: [[TableCell]], objects: [T], width: Int?) throws -> String {
        switch kind {
        case .table:
            return TextTable.render(headers: headers, rows: cells.map { $0.map(\.lines) }, maxWidth: width, showHeader: header)
        case .csv:
            return TextTable.csv(headers: header ? headers : nil, rows: cells.map { $0.map(\.csvField) })
        case .json:
            return try Self.json(objects) + "\n"
        case .yaml:
            return try Self.yaml(objects)
        }
    }

    /// YAML of one value (as `--format yaml` prints lists).
    public static func yaml<T: Encodable>(_ value: T) throws -> String {
        try YAMLEncoder().encode(value)
    }

    /// Compact JSON with sorted keys (what scripts and `jq` want).
    public static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

/// One cell of a table-like listing.
public enum TableCell: Equatable, Sendable {
    /// Free text (a name, a description): kept whole.
    case text(String)
    /// Several values (IPv4 addresses): one per line in a table, joined with commas in CSV.
    case list([String])

    /// The cell as table text (lines separated by `\n`).
    var lines: String {
        switch self {
        case let .text(s): return s
        case let .list(items): return items.joined(separator: "\n")
        }
    }

    /// The cell's CSV value, before quoting.
    var csvField: String {
        switch self {
        case let .text(s): return s
        case let .list(items): return items.joined(separator: ",")
        }
    }
}

/// One container in `list --format json|yaml`: every key always present (`pid` is `null` when the
/// container is not running).
public struct ContainerListEntry: Encodable, Sendable {
    public var name: String
    public var status: String
    public var ipv4: [String]
    public var pid: Int32?
    public var image: String
    public var profiles: [String]
    public var snapshots: Int
    public var description: String
    public var ephemeral: Bool
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var type = "container"

    enum CodingKeys: String, CodingKey {
        case name, status, ipv4, pid, image, profiles, snapshots, description, ephemeral, type
        case createdAt = "created_at", lastUsedAt = "last_used_at"
    }

    public init(_ view: ContainerView) {
        name = view.name
        status = view.status.rawValue
        ipv4 = view.ipv4
        pid = view.pid
        image = view.record.image
        profiles = view.profiles
        snapshots = view.snapshots
        description = view.record.description
        ephemeral = view.record.ephemeral
        createdAt = view.record.createdAt
        lastUsedAt = view.record.lastUsedAt
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(status, forKey: .status)
        try c.encode(ipv4, forKey: .ipv4)
        if let pid { try c.encode(pid, forKey: .pid) } else { try c.encodeNil(forKey: .pid) }
        try c.encode(image, forKey: .image)
        try c.encode(profiles, forKey: .profiles)
        try c.encode(snapshots, forKey: .snapshots)
        try c.encode(description, forKey: .description)
        try c.encode(ephemeral, forKey: .ephemeral)
        try c.encode(type, forKey: .type)
        try c.encode(Self.timestamp(createdAt), forKey: .createdAt)
        if let lastUsedAt { try c.encode(Self.timestamp(lastUsedAt), forKey: .lastUsedAt) } else { try c.encodeNil(forKey: .lastUsedAt) }
    }

    static func timestamp(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: date)
    }
}

/// One profile in `profile list --format json|yaml`.
public struct ProfileListEntry: Encodable, Sendable {
    public var name: String
    public var description: String
    public var usedBy: [String]

    enum CodingKeys: String, CodingKey {
        case name, description
        case usedBy = "used_by"
    }

    public init(_ summary: ProfileSummary) {
        name = summary.name
        description = summary.description
        usedBy = summary.usedBy
    }
}
