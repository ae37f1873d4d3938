import GRDB

/// Config of one kind of owner: a device's key/value pairs, with its type under the key `type`
/// (the shape LXD and Incus show devices in).
public typealias DeviceMap = [String: [String: String]]

/// The `<owner>_config` key/value table of one owner kind (containers, profiles, snapshots, networks).
public struct ConfigTable: Sendable {
    public let table: String
    public let ownerColumn: String

    public static let containers = ConfigTable(table: "containers_config", ownerColumn: "container_id")
    public static let profiles = ConfigTable(table: "profiles_config", ownerColumn: "profile_id")
    public static let snapshots = ConfigTable(table: "snapshots_config", ownerColumn: "snapshot_id")
    public static let networks = ConfigTable(table: "networks_config", ownerColumn: "network_id")
    public static let imageProperties = ConfigTable(table: "images_properties", ownerColumn: "image_id")

    /// All keys of one owner.
    public func load(_ db: Database, owner: Int64) throws -> [String: String] {
        try loadAll(db, owner: owner)[owner] ?? [:]
    }

    /// The keys of every owner (one query: `list` of many containers), or of one when given.
    public func loadAll(_ db: Database, owner: Int64? = nil) throws -> [Int64: [String: String]] {
        var out: [Int64: [String: String]] = [:]
        for row in try Row.fetchAll(
            db, sql: "SELECT \(ownerColumn) AS owner, key, value FROM \(table) \(owner == nil ? "" : "WHERE \(ownerColumn) = ?")",
            arguments: owner.map { [$0] } ?? [])
        {
            out[row["owner"], default: [:]][row["key"]] = row["value"]
        }
        return out
    }

    /// Sets (`value` non-nil) or removes (`nil`) one key.
    public func set(_ db: Database, owner: Int64, key: String, value: String?) throws {
        if let value {
            try db.execute(
                sql: """
                    INSERT INTO \(table) (\(ownerColumn), key, value) VALUES (?, ?, ?)
                    ON CONFLICT(\(ownerColumn), key) DO UPDATE SET value = excluded.value
                    """, arguments: [owner, key, value])
        } else {
            try db.execute(sql: "DELETE FROM \(table) WHERE \(ownerColumn) = ? AND key = ?", arguments: [owner, key])
        }
    }

    /// Replaces every key of one owner.
    public func replace(_ db: Database, owner: Int64, with config: [String: String]) throws {
        try db.execute(sql: "DELETE FROM \(table) WHERE \(ownerColumn) = ?", arguments: [owner])
        for (key, value) in config.sorted(by: { $0.key < $1.key }) {
            try db.execute(
                sql: "INSERT INTO \(table) (\(ownerColumn), key, value) VALUES (?, ?, ?)",
                arguments: [owner, key, value])
        }
    }
}

/// The `<owner>_devices` + `<owner>_devices_config` tables of one owner kind.
public struct DeviceTable: Sendable {
    public let prefix: String
    public let ownerColumn: String

    public static let containers = DeviceTable(prefix: "containers", ownerColumn: "container_id")
    public static let profiles = DeviceTable(prefix: "profiles", ownerColumn: "profile_id")
    public static let snapshots = DeviceTable(prefix: "snapshots", ownerColumn: "snapshot_id")

    /// All devices of one owner, each with its `type` key.
    public func load(_ db: Database, owner: Int64) throws -> DeviceMap {
        try loadAll(db, owner: owner)[owner] ?? [:]
    }

    /// The devices of every owner (one query: `list` of many containers), or of one when given.
    public func loadAll(_ db: Database, owner: Int64? = nil) throws -> [Int64: DeviceMap] {
        var out: [Int64: DeviceMap] = [:]
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT d.\(ownerColumn) AS owner, d.name AS name, d.type AS type, c.key AS key, c.value AS value
                FROM \(prefix)_devices d LEFT JOIN \(prefix)_devices_config c ON c.device_id = d.id
                \(owner == nil ? "" : "WHERE d.\(ownerColumn) = ?")
                """, arguments: owner.map { [$0] } ?? [])
        for row in rows {
            let id: Int64 = row["owner"], name: String = row["name"]
            var device = out[id]?[name] ?? ["type": row["type"]]
            if let key: String = row["key"] { device[key] = row["value"] }
            out[id, default: [:]][name] = device
        }
        return out
    }

    /// Replaces every device of one owner. Each device must carry a `type` key.
    public func replace(_ db: Database, owner: Int64, with devices: DeviceMap) throws {
        try db.execute(sql: "DELETE FROM \(prefix)_devices WHERE \(ownerColumn) = ?", arguments: [owner])
        for (name, config) in devices.sorted(by: { $0.key < $1.key }) {
            try db.execute(
                sql: "INSERT INTO \(prefix)_devices (\(ownerColumn), name, type) VALUES (?, ?, ?)",
                arguments: [owner, name, config["type"] ?? ""])
            let deviceId = db.lastInsertedRowID
            for (key, value) in config.sorted(by: { $0.key < $1.key }) where key != "type" {
                try db.execute(
                    sql: "INSERT INTO \(prefix)_devices_config (device_id, key, value) VALUES (?, ?, ?)",
                    arguments: [deviceId, key, value])
            }
        }
    }
}

/// The ordered `containers_profiles` link table.
public enum ContainerProfiles {
    /// The profiles applied to a container, in apply order (first applied first).
    public static func load(_ db: Database, container: Int64) throws -> [ProfileRecord] {
        try ProfileRecord.fetchAll(
            db,
            sql: """
                SELECT p.* FROM profiles p JOIN containers_profiles cp ON cp.profile_id = p.id
                WHERE cp.container_id = ? ORDER BY cp.apply_order
                """, arguments: [container])
    }

    /// The profile lists of every container, in apply order (one query: `list` of many containers).
    public static func loadAll(_ db: Database) throws -> [Int64: [ProfileRecord]] {
        var out: [Int64: [ProfileRecord]] = [:]
        for row in try Row.fetchAll(
            db,
            sql: """
                SELECT cp.container_id AS container_id, p.* FROM profiles p JOIN containers_profiles cp ON cp.profile_id = p.id
                ORDER BY cp.container_id, cp.apply_order
                """)
        {
            out[row["container_id"], default: []].append(try ProfileRecord(row: row))
        }
        return out
    }

    /// Replaces a container's profile list; the array order is the apply order.
    public static func replace(_ db: Database, container: Int64, profiles: [Int64]) throws {
        try db.execute(sql: "DELETE FROM containers_profiles WHERE container_id = ?", arguments: [container])
        for (order, profile) in profiles.enumerated() {
            try db.execute(
                sql: "INSERT INTO containers_profiles (container_id, profile_id, apply_order) VALUES (?, ?, ?)",
                arguments: [container, profile, order])
        }
    }

    /// Names of the containers that use a profile, sorted.
    public static func users(_ db: Database, profile: Int64) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT c.name FROM containers c JOIN containers_profiles cp ON cp.container_id = c.id
                WHERE cp.profile_id = ? ORDER BY c.name
                """, arguments: [profile])
    }
}

/// The `settings` table: server-wide key/value pairs and internal markers.
public enum Settings {
    public static func get(_ db: Database, _ key: String) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key])
    }

    public static func set(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(
            sql: "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            arguments: [key, value])
    }
}
