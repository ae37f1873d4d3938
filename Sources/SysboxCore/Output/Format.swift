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
    ///   - fit: how the table gives up width (nil: every column may be cut).
    public func render<T: Encodable>(headers: [String], cells: [[TableCell]], objects: [T], width: Int?, fit: TableFit? = nil) throws -> String {
        switch kind {
        case .table:
            return TextTable.render(headers: headers, rows: cells.map { $0.map(\.lines) }, maxWidth: width, showHeader: header, fit: fit)
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
///
/// The one rule per format: tables are for people (sizes in IEC units, `1.9MiB`; times as
/// `2026/12/03 07:45 UTC`), CSV is for programs (sizes in bytes, times in RFC 3339 UTC to the second,
/// an empty field when unset), as JSON and YAML are (see `MachineTime`).
public enum TableCell: Equatable, Sendable {
    /// Free text (a name, a description): kept whole.
    case text(String)
    /// Several values (IPv4 addresses): one per line in a table, joined with commas in CSV.
    case list([String])
    /// A size: `humanBytes` in a table, the number of bytes in CSV.
    case bytes(UInt64)
    /// A point in time (nil: unset): `HumanTime` in a table, RFC 3339 in CSV; empty when unset.
    case time(Date?)

    /// The cell as table text (lines separated by `\n`).
    var lines: String {
        switch self {
        case let .text(s): return s
        case let .list(items): return items.joined(separator: "\n")
        case let .bytes(n): return humanBytes(n)
        case let .time(date): return date.map(HumanTime.string) ?? ""
        }
    }

    /// The cell's CSV value, before quoting.
    var csvField: String {
        switch self {
        case let .text(s): return s
        case let .list(items): return items.joined(separator: ",")
        case let .bytes(n): return String(n)
        case let .time(date): return date.map(MachineTime.string) ?? ""
        }
    }
}

/// Times in csv, json and yaml output: RFC 3339 in UTC, to the second (`2026-12-03T07:45:00Z`).
public enum MachineTime {
    /// `date` as RFC 3339 UTC without fractions of a second.
    public static func string(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}

/// Times in tables and `info`: `2026/12/03 07:45 UTC` (as LXD shows them).
public enum HumanTime {
    /// `date` as `yyyy/MM/dd HH:mm UTC`.
    public static func string(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy/MM/dd HH:mm 'UTC'"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}

/// One container in `list --format json|yaml`: every key always present (`pid` is `null` when the
/// container is not running). `ipv4` holds plain addresses (`10.0.5.2`); `state.network` is one object
/// per interface shaped like LXD's instance state (addresses, hwaddr, host_name, counters), `null`
/// while the container is not running.
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
    public var state: InstanceState

    enum CodingKeys: String, CodingKey {
        case name, status, ipv4, pid, image, profiles, snapshots, description, ephemeral, type, state
        case createdAt = "created_at", lastUsedAt = "last_used_at"
    }

    /// - Parameters:
    ///   - view: the container.
    ///   - nics: its NICs (`Manager.nicStates`); used while it runs.
    ///   - prefixLength: the prefix length of a network's subnet by network name (`24`), for netmasks.
    public init(_ view: ContainerView, nics: [NicState], prefixLength: [String: String]) {
        name = view.name
        status = view.status.rawValue
        let running = view.status.isLive
        ipv4 = running ? nics.map(\.address).filter { !$0.isEmpty } : []
        pid = view.pid
        image = view.record.image
        profiles = view.profiles
        snapshots = view.snapshots
        description = view.record.description
        ephemeral = view.record.ephemeral
        createdAt = view.record.createdAt
        lastUsedAt = view.record.lastUsedAt
        var network: [String: InstanceState.Interface]?
        if running {
            network = [:]
            for nic in nics {
                network?[nic.name] = InstanceState.Interface(nic, prefixLength: prefixLength[nic.network] ?? "")
            }
        }
        state = InstanceState(status: view.status.rawValue, pid: view.pid, network: network)
    }

    /// A container without its NICs' state (`state.network` is `{}` while it runs).
    public init(_ view: ContainerView) { self.init(view, nics: [], prefixLength: [:]) }

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
        try c.encode(state, forKey: .state)
    }

    static func timestamp(_ date: Date) -> String { MachineTime.string(date) }
}

/// A container's live state in `list --format json|yaml`, shaped like LXD's `InstanceState`.
public struct InstanceState: Encodable, Sendable {
    public var status: String
    public var pid: Int32?
    /// By interface name inside the container; nil (`null`) while it is not running.
    public var network: [String: Interface]?

    /// One interface, as LXD's `InstanceStateNetwork`.
    public struct Interface: Encodable, Sendable {
        public var addresses: [Address]
        public var counters: Counters
        public var hwaddr: String
        public var hostName: String
        public var state: String
        public var type: String

        enum CodingKeys: String, CodingKey {
            case addresses, counters, hwaddr, state, type
            case hostName = "host_name"
        }

        public init(_ nic: NicState, prefixLength: String) {
            addresses = nic.address.isEmpty ? [] : [Address(family: "inet", address: nic.address, netmask: prefixLength, scope: "global")]
            counters = Counters(
                bytesReceived: nic.rxBytes, bytesSent: nic.txBytes, packetsReceived: nic.rxPackets, packetsSent: nic.txPackets)
            hwaddr = nic.hwaddr
            hostName = nic.hostName
            state = "up"
            type = "broadcast"
        }
    }

    /// LXD's `InstanceStateNetworkAddress`: family `inet`, the address, the prefix length as
    /// `netmask` (`"24"`), scope `global`.
    public struct Address: Encodable, Sendable, Equatable {
        public var family: String
        public var address: String
        public var netmask: String
        public var scope: String
    }

    /// LXD's `InstanceStateNetworkCounters`, as the container sees them; `null` when unknown.
    public struct Counters: Encodable, Sendable {
        public var bytesReceived: UInt64?
        public var bytesSent: UInt64?
        public var packetsReceived: UInt64?
        public var packetsSent: UInt64?

        enum CodingKeys: String, CodingKey {
            case bytesReceived = "bytes_received", bytesSent = "bytes_sent"
            case packetsReceived = "packets_received", packetsSent = "packets_sent"
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            for (value, key) in [(bytesReceived, CodingKeys.bytesReceived), (bytesSent, .bytesSent), (packetsReceived, .packetsReceived), (packetsSent, .packetsSent)] {
                if let value { try c.encode(value, forKey: key) } else { try c.encodeNil(forKey: key) }
            }
        }
    }

    enum CodingKeys: String, CodingKey { case status, pid, network }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(status, forKey: .status)
        if let pid { try c.encode(pid, forKey: .pid) } else { try c.encodeNil(forKey: .pid) }
        if let network { try c.encode(network, forKey: .network) } else { try c.encodeNil(forKey: .network) }
    }
}

/// One snapshot in `snapshot list` and `storage info` as json or yaml: `expires_at` is `null` when
/// the snapshot does not expire, times are RFC 3339 UTC to the second, `size` in bytes.
public struct SnapshotListEntry: Encodable, Sendable {
    public var entry: SnapshotEntry
    public init(_ entry: SnapshotEntry) { self.entry = entry }

    enum CodingKeys: String, CodingKey {
        case name, size
        case createdAt = "created_at", expiresAt = "expires_at"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entry.name, forKey: .name)
        try c.encode(MachineTime.string(entry.createdAt), forKey: .createdAt)
        if let e = entry.expiresAt { try c.encode(MachineTime.string(e), forKey: .expiresAt) } else { try c.encodeNil(forKey: .expiresAt) }
        try c.encode(entry.size, forKey: .size)
    }
}

/// `storage info --format json|yaml`: `StorageInfo` with its snapshots as `SnapshotListEntry`.
public struct StorageInfoDocument: Encodable, Sendable {
    public var info: StorageInfo
    public init(_ info: StorageInfo) { self.info = info }

    struct Container: Encodable {
        var name: String
        var used: UInt64
        var snapshots: [SnapshotListEntry]
    }

    enum CodingKeys: String, CodingKey {
        case driver, path, images, containers
        case filesystemFree = "filesystem_free", filesystemSize = "filesystem_size"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(info.driver, forKey: .driver)
        try c.encode(info.path, forKey: .path)
        try c.encode(info.images, forKey: .images)
        try c.encode(info.containers.map { Container(name: $0.name, used: $0.used, snapshots: $0.snapshots.map(SnapshotListEntry.init)) }, forKey: .containers)
        try c.encode(info.filesystemFree, forKey: .filesystemFree)
        try c.encode(info.filesystemSize, forKey: .filesystemSize)
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
