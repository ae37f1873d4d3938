import Foundation
import GRDB

/// A row of `containers`. `powerState` is the state of record, not the kernel's truth.
public struct ContainerRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "containers"
    public var id: Int64?
    public var name: String
    public var image: String
    public var description: String
    public var ephemeral: Bool
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var powerState: String

    enum CodingKeys: String, CodingKey {
        case id, name, image, description, ephemeral
        case createdAt = "created_at", lastUsedAt = "last_used_at", powerState = "power_state"
    }

    public init(name: String, image: String, description: String = "", ephemeral: Bool = false,
                createdAt: Date = Date(), powerState: String = "stopped") {
        self.name = name
        self.image = image
        self.description = description
        self.ephemeral = ephemeral
        self.createdAt = createdAt
        self.powerState = powerState
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// `SELECT … WHERE name = ?`
    public static func named(_ name: String, in db: Database) throws -> ContainerRecord? {
        try ContainerRecord.filter(Column("name") == name).fetchOne(db)
    }
}

/// A row of `profiles`.
public struct ProfileRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "profiles"
    public var id: Int64?
    public var name: String
    public var description: String

    public init(name: String, description: String = "") {
        self.name = name
        self.description = description
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// `SELECT … WHERE name = ?`
    public static func named(_ name: String, in db: Database) throws -> ProfileRecord? {
        try ProfileRecord.filter(Column("name") == name).fetchOne(db)
    }
}

/// A row of `snapshots`; its config, devices and profile list are frozen in the `snapshots_*` tables.
public struct SnapshotRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
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

    public init(containerId: Int64, name: String, description: String = "", createdAt: Date = Date(), expiresAt: Date? = nil) {
        self.containerId = containerId
        self.name = name
        self.description = description
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `images`: a built root filesystem, identified by its SHA-256 fingerprint.
public struct ImageRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
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

    public init(fingerprint: String, template: String, size: Int64, createdAt: Date = Date()) {
        self.fingerprint = fingerprint
        self.template = template
        self.size = size
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `images_aliases`: a name such as `debian/12` pointing at an image.
public struct ImageAliasRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "images_aliases"
    public var id: Int64?
    public var name: String
    public var imageId: Int64
    public var description: String

    enum CodingKeys: String, CodingKey {
        case id, name, description
        case imageId = "image_id"
    }

    public init(name: String, imageId: Int64, description: String = "") {
        self.name = name
        self.imageId = imageId
        self.description = description
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `networks` (a managed bridge); its settings live in `networks_config`.
public struct NetworkRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "networks"
    public var id: Int64?
    public var name: String
    public var description: String
    public var type: String

    public init(name: String, description: String = "", type: String = "bridge") {
        self.name = name
        self.description = description
        self.type = type
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A row of `ipv4_leases`: one address of one network held by one NIC of one container.
public struct IPv4LeaseRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
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

    public init(networkId: Int64, address: String, containerId: Int64, deviceName: String, hwaddr: String = "",
                isStatic: Bool = false, createdAt: Date = Date()) {
        self.networkId = networkId
        self.address = address
        self.containerId = containerId
        self.deviceName = deviceName
        self.hwaddr = hwaddr
        self.isStatic = isStatic
        self.createdAt = createdAt
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}
