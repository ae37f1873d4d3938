import Foundation
import GRDB

/// What every table row type of the store shares: an `INTEGER PRIMARY KEY` `id`, nil until inserted,
/// and set from the row id SQLite assigns (`sqlite3_last_insert_rowid`) when it is.
public protocol StoreRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    var id: Int64? { get set }
    /// How an error names the row: its name, fingerprint or uuid.
    var label: String { get }
}

extension StoreRecord {
    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The row's id. A record fetched from the database or inserted always has one; nil means a record
    /// that was never inserted was passed where a stored row was expected, a bug in the caller.
    /// - Throws: `StoreError.internalError` ("internal error: record containers c1 has no id").
    public func requireID() throws -> Int64 {
        guard let id else {
            throw StoreError.internalError("record \(Self.databaseTableName) \(label) has no id (it was never inserted)")
        }
        return id
    }
}

/// A record with a unique `name` column.
public protocol NamedRecord: StoreRecord {
    var name: String { get }
}

extension NamedRecord {
    public var label: String { name }

    /// `SELECT * FROM <table> WHERE name = ?`: the row of that name, if any.
    public static func named(_ name: String, in db: Database) throws -> Self? {
        try filter(Column("name") == name).fetchOne(db)
    }

    /// `SELECT name FROM <table> ORDER BY name`: every name, sorted (SQLite reads them from the unique
    /// index on `name`).
    public static func allNames(in db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM \(databaseTableName) ORDER BY name")
    }
}

// The public initialisers live in extensions, so the compiler still synthesises the memberwise
// initialiser (internal, every stored property) and each public one is a single delegation to it.

/// A container's state of record (`containers.power_state`), stored as the text it has always been.
///
/// The schema's CHECK admits four values; sysbox writes only `running` and `stopped` today. `frozen`
/// and `error` are here so that any row the schema admits decodes (so every row does).
public enum PowerState: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case running, stopped, frozen, error
}

/// A row of `containers`. `state` is the state of record, not the kernel's truth.
public struct ContainerRecord: NamedRecord {
    public static let databaseTableName = "containers"
    public var id: Int64?
    public var name: String
    public var image: String
    public var description: String
    public var ephemeral: Bool
    public var createdAt: Date
    public var lastUsedAt: Date?
    /// `power_state`: the stored text, typed (the column's CHECK admits only `PowerState`'s values).
    public var state: PowerState

    enum CodingKeys: String, CodingKey {
        case id, name, image, description, ephemeral
        case createdAt = "created_at", lastUsedAt = "last_used_at", state = "power_state"
    }
}

extension ContainerRecord {
    /// A new, not yet inserted container row in state `state`.
    public init(
        name: String, image: String, description: String = "", ephemeral: Bool = false,
        createdAt: Date = Date(), state: PowerState = .stopped
    ) {
        self.init(
            id: nil, name: name, image: image, description: description, ephemeral: ephemeral,
            createdAt: createdAt, lastUsedAt: nil, state: state)
    }
}

/// A row of `profiles`.
public struct ProfileRecord: NamedRecord {
    public static let databaseTableName = "profiles"
    public var id: Int64?
    public var name: String
    public var description: String
}

extension ProfileRecord {
    public init(name: String, description: String = "") {
        self.init(id: nil, name: name, description: description)
    }
}

/// A row of `snapshots`; its config, devices and profile list are frozen in the `snapshots_*` tables.
public struct SnapshotRecord: StoreRecord {
    public static let databaseTableName = "snapshots"
    public var id: Int64?
    public var containerId: Int64
    public var name: String
    public var description: String
    public var createdAt: Date
    public var expiresAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, description
        case containerId = "container_id", createdAt = "created_at", expiresAt = "expires_at"
    }

    public var label: String { "\(name) of container \(containerId)" }
}

extension SnapshotRecord {
    public init(containerId: Int64, name: String, description: String = "", createdAt: Date = Date(), expiresAt: Date? = nil) {
        self.init(id: nil, containerId: containerId, name: name, description: description, createdAt: createdAt, expiresAt: expiresAt)
    }
}

/// A row of `images`: a built root filesystem, identified by its SHA-256 fingerprint.
public struct ImageRecord: StoreRecord {
    public static let databaseTableName = "images"
    public var id: Int64?
    public var fingerprint: String
    public var template: String
    public var size: Int64
    public var createdAt: Date
    public var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, fingerprint, template, size
        case createdAt = "created_at", lastUsedAt = "last_used_at"
    }

    public var label: String { String(fingerprint.prefix(12)) }
}

extension ImageRecord {
    public init(fingerprint: String, template: String, size: Int64, createdAt: Date = Date()) {
        self.init(id: nil, fingerprint: fingerprint, template: template, size: size, createdAt: createdAt, lastUsedAt: nil)
    }
}

/// A row of `images_aliases`: a name such as `debian/12` pointing at an image.
public struct ImageAliasRecord: NamedRecord {
    public static let databaseTableName = "images_aliases"
    public var id: Int64?
    public var name: String
    public var imageId: Int64
    public var description: String

    enum CodingKeys: String, CodingKey {
        case id, name, description
        case imageId = "image_id"
    }
}

extension ImageAliasRecord {
    public init(name: String, imageId: Int64, description: String = "") {
        self.init(id: nil, name: name, imageId: imageId, description: description)
    }
}

/// A row of `networks` (a managed bridge); its settings live in `networks_config`.
public struct NetworkRecord: NamedRecord {
    public static let databaseTableName = "networks"
    public var id: Int64?
    public var name: String
    public var description: String
    public var type: String
}

extension NetworkRecord {
    public init(name: String, description: String = "", type: String = "bridge") {
        self.init(id: nil, name: name, description: description, type: type)
    }
}

/// A row of `ipv4_leases`: one address of one network held by one NIC of one container.
public struct IPv4LeaseRecord: StoreRecord {
    public static let databaseTableName = "ipv4_leases"
    public var id: Int64?
    public var networkId: Int64
    public var address: String
    public var containerId: Int64
    public var deviceName: String
    public var hwaddr: String
    public var isStatic: Bool
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, address, hwaddr
        case networkId = "network_id", containerId = "container_id", deviceName = "device_name"
        case isStatic = "static", createdAt = "created_at"
    }

    public var label: String { "\(address) (\(deviceName) of container \(containerId))" }
}

extension IPv4LeaseRecord {
    public init(
        networkId: Int64, address: String, containerId: Int64, deviceName: String, hwaddr: String = "",
        isStatic: Bool = false, createdAt: Date = Date()
    ) {
        self.init(
            id: nil, networkId: networkId, address: address, containerId: containerId, deviceName: deviceName,
            hwaddr: hwaddr, isStatic: isStatic, createdAt: createdAt)
    }
}
