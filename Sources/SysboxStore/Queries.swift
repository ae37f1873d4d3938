import Foundation
import GRDB

// Named queries: every statement SysboxCore runs beyond the generic record API and the tables of
// Tables.swift. Each says the SQL it runs; call them inside `Store.read` or `Store.write`. The row types
// they return (`SnapshotUse`, `NetworkLease`, `StaticAddressClaim`) are made only here: their
// memberwise initialisers are the compiler's (internal).

extension ContainerRecord {
    /// `UPDATE containers SET power_state = ? [, last_used_at = ?] WHERE name = ?`: records the state of
    /// record; starting (`running`) also stamps `last_used_at` with `now`. A name with no row changes nothing.
    public static func setPowerState(_ state: PowerState, name: String, now: Date = Date(), in db: Database) throws {
        if state == .running {
            try db.execute(sql: "UPDATE containers SET power_state = ?, last_used_at = ? WHERE name = ?", arguments: [state, now, name])
        } else {
            try db.execute(sql: "UPDATE containers SET power_state = ? WHERE name = ?", arguments: [state, name])
        }
    }

    /// `UPDATE containers SET name = ? WHERE name = ?`: renames the row; config, devices, profiles,
    /// snapshots and leases follow (they reference the id). The caller checks that `new` is free (the
    /// unique index refuses it otherwise with SQLITE_CONSTRAINT).
    public static func rename(from old: String, to new: String, in db: Database) throws {
        try db.execute(sql: "UPDATE containers SET name = ? WHERE name = ?", arguments: [new, old])
    }

    /// Names of the containers made from the image `fingerprint` (config key `volatile.base_image`), sorted.
    public static func names(usingImage fingerprint: String, in db: Database) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT c.name FROM containers c JOIN containers_config k ON k.container_id = c.id
                WHERE k.key = 'volatile.base_image' AND k.value = ? ORDER BY c.name
                """, arguments: [fingerprint])
    }
}

extension SnapshotRecord {
    /// `SELECT name FROM snapshots WHERE container_id = ?`: the names of a container's snapshots, sorted.
    public static func names(container: Int64, in db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM snapshots WHERE container_id = ? ORDER BY name", arguments: [container])
    }

    /// The snapshot `name` of a container, if any.
    public static func named(_ name: String, container: Int64, in db: Database) throws -> SnapshotRecord? {
        try filter(Column("container_id") == container && Column("name") == name).fetchOne(db)
    }

    /// `SELECT COUNT(*) FROM snapshots WHERE container_id = ?`.
    public static func count(container: Int64, in db: Database) throws -> Int {
        try filter(Column("container_id") == container).fetchCount(db)
    }

    /// `SELECT container_id, COUNT(*) … GROUP BY container_id`: snapshot counts of every container that
    /// has any (one query, for `list`).
    public static func countsByContainer(in db: Database) throws -> [Int64: Int] {
        var out: [Int64: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT container_id, COUNT(*) AS n FROM snapshots GROUP BY container_id") {
            out[row["container_id"]] = row["n"]
        }
        return out
    }

    /// `SELECT MAX(created_at) … WHERE container_id = ? AND description = ?`: when the container's last
    /// snapshot with that description (the scheduler's marker) was taken; nil when it has none.
    public static func latestCreation(container: Int64, description: String, in db: Database) throws -> Date? {
        try Date.fetchOne(
            db, sql: "SELECT MAX(created_at) FROM snapshots WHERE container_id = ? AND description = ?",
            arguments: [container, description])
    }
}

/// A snapshot that names a profile (`snapshots_profiles`), for refusing the profile's deletion.
public struct SnapshotUse: Sendable, Equatable {
    public var container: String
    public var snapshot: String
}

/// The ordered `snapshots_profiles` table: a snapshot's profile list, by profile name (so that a
/// snapshot outlives a profile's id; a profile rename follows, and a profile named here cannot be deleted).
public enum SnapshotProfiles {
    /// The profile names of a snapshot, in apply order.
    public static func names(_ db: Database, snapshot: Int64) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT profile_name FROM snapshots_profiles WHERE snapshot_id = ? ORDER BY apply_order",
            arguments: [snapshot])
    }

    /// Replaces a snapshot's profile list; the array order is the apply order.
    public static func replace(_ db: Database, snapshot: Int64, profiles: [String]) throws {
        try db.execute(sql: "DELETE FROM snapshots_profiles WHERE snapshot_id = ?", arguments: [snapshot])
        for (order, name) in profiles.enumerated() {
            try db.execute(
                sql: "INSERT INTO snapshots_profiles (snapshot_id, profile_name, apply_order) VALUES (?, ?, ?)",
                arguments: [snapshot, name, order])
        }
    }

    /// `INSERT … SELECT`: gives snapshot `target` (new, with no list yet) the profile list of `source`.
    public static func copy(_ db: Database, from source: Int64, to target: Int64) throws {
        try db.execute(
            sql: """
                INSERT INTO snapshots_profiles (snapshot_id, profile_name, apply_order)
                SELECT ?, profile_name, apply_order FROM snapshots_profiles WHERE snapshot_id = ?
                """, arguments: [target, source])
    }

    /// Snapshots whose profile list names `profile`, sorted by container then snapshot.
    public static func users(_ db: Database, profile: String) throws -> [SnapshotUse] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT c.name AS container, s.name AS snapshot FROM snapshots_profiles sp
                JOIN snapshots s ON s.id = sp.snapshot_id JOIN containers c ON c.id = s.container_id
                WHERE sp.profile_name = ? ORDER BY c.name, s.name
                """, arguments: [profile]
        ).map { SnapshotUse(container: $0["container"], snapshot: $0["snapshot"]) }
    }

    /// `UPDATE snapshots_profiles SET profile_name = ? WHERE profile_name = ?`: snapshots follow a
    /// profile rename.
    public static func renameProfile(_ db: Database, from old: String, to new: String) throws {
        try db.execute(sql: "UPDATE snapshots_profiles SET profile_name = ? WHERE profile_name = ?", arguments: [new, old])
    }
}

extension ImageRecord {
    /// `UPDATE images SET last_used_at = ? WHERE fingerprint = ?`.
    public static func markUsed(fingerprint: String, at date: Date = Date(), in db: Database) throws {
        try db.execute(sql: "UPDATE images SET last_used_at = ? WHERE fingerprint = ?", arguments: [date, fingerprint])
    }

    /// The image with this fingerprint, if built.
    public static func withFingerprint(_ fingerprint: String, in db: Database) throws -> ImageRecord? {
        try filter(Column("fingerprint") == fingerprint).fetchOne(db)
    }

    /// The image the alias `name` points at, if any.
    public static func aliased(_ name: String, in db: Database) throws -> ImageRecord? {
        try ImageRecord.fetchOne(
            db, sql: "SELECT i.* FROM images i JOIN images_aliases a ON a.image_id = i.id WHERE a.name = ?",
            arguments: [name])
    }

    /// `… WHERE fingerprint LIKE '<prefix>%'`: the images whose fingerprint starts with `prefix` (lower-cased;
    /// the caller passes hexadecimal digits only, so LIKE's `%` and `_` cannot occur in it).
    public static func withFingerprintPrefix(_ prefix: String, in db: Database) throws -> [ImageRecord] {
        try ImageRecord.fetchAll(db, sql: "SELECT * FROM images WHERE fingerprint LIKE ?", arguments: [prefix.lowercased() + "%"])
    }
}

extension ImageAliasRecord {
    /// The alias names of an image, sorted.
    public static func names(image: Int64, in db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM images_aliases WHERE image_id = ? ORDER BY name", arguments: [image])
    }

    /// Points alias `name` at `image`, replacing an alias of that name (its description is reset).
    @discardableResult
    public static func set(_ name: String, image: Int64, in db: Database) throws -> ImageAliasRecord {
        _ = try delete(named: name, in: db)
        var alias = ImageAliasRecord(name: name, imageId: image)
        try alias.insert(db)
        return alias
    }

    /// `DELETE FROM images_aliases WHERE name = ?`; returns whether there was one.
    public static func delete(named name: String, in db: Database) throws -> Bool {
        try db.execute(sql: "DELETE FROM images_aliases WHERE name = ?", arguments: [name])
        return db.changesCount > 0
    }
}

/// A lease with the name of the container that holds it (for dnsmasq, `network info`, MAC checks).
public struct NetworkLease: Sendable, Equatable {
    public var container: String
    public var device: String
    public var hwaddr: String
    public var address: String
    public var isStatic: Bool

    /// The leases of a network, sorted by container name then device; `except` leaves out the lease of
    /// one NIC (the one being placed).
    public static func all(network: Int64, except: (container: Int64, device: String)? = nil, in db: Database) throws -> [NetworkLease] {
        var sql = """
            SELECT c.name AS container, l.device_name AS device, l.hwaddr AS hwaddr, l.address AS address, l.static AS static
            FROM ipv4_leases l JOIN containers c ON c.id = l.container_id WHERE l.network_id = ?
            """
        var arguments: StatementArguments = [network]
        if let except {
            sql += " AND NOT (l.container_id = ? AND l.device_name = ?)"
            arguments += [except.container, except.device]
        }
        return try Row.fetchAll(db, sql: sql + " ORDER BY c.name, l.device_name", arguments: arguments).map { row in
            NetworkLease(
                container: row["container"], device: row["device"], hwaddr: row["hwaddr"], address: row["address"],
                isStatic: row["static"])
        }
    }
}

/// A static `ipv4.address` a NIC device declares on a network, from a container's own devices or a
/// profile it uses (whether the container has started or not).
public struct StaticAddressClaim: Sendable, Equatable {
    public var address: String
    public var device: String
    public var container: String
    public var containerId: Int64
    /// Declared by a profile of the container rather than by the container itself.
    public var fromProfile: Bool

    /// Every claim on the network named `network`: the containers' own NICs first, then those their
    /// profiles declare (one per container using the profile).
    public static func all(network: String, in db: Database) throws -> [StaticAddressClaim] {
        try Row.fetchAll(
            db,
            sql: """
                SELECT a.value AS address, d.name AS device, c.name AS container, c.id AS cid, 0 AS rank
                FROM containers_devices d
                JOIN containers c ON c.id = d.container_id
                JOIN containers_devices_config a ON a.device_id = d.id AND a.key = 'ipv4.address'
                JOIN containers_devices_config n ON n.device_id = d.id AND n.key = 'network' AND n.value = ?
                WHERE d.type = 'nic'
                UNION ALL
                SELECT a.value, d.name, c.name, c.id, 1
                FROM profiles_devices d
                JOIN containers_profiles cp ON cp.profile_id = d.profile_id
                JOIN containers c ON c.id = cp.container_id
                JOIN profiles_devices_config a ON a.device_id = d.id AND a.key = 'ipv4.address'
                JOIN profiles_devices_config n ON n.device_id = d.id AND n.key = 'network' AND n.value = ?
                WHERE d.type = 'nic'
                ORDER BY rank
                """, arguments: [network, network]
        ).map { row in
            StaticAddressClaim(
                address: row["address"], device: row["device"], container: row["container"],
                containerId: row["cid"], fromProfile: (row["rank"] as Int) == 1)
        }
    }
}

extension IPv4LeaseRecord {
    /// The number of leases held by the container named `name` (0 when there is no such container).
    public static func count(containerNamed name: String, in db: Database) throws -> Int {
        try Int.fetchOne(
            db, sql: "SELECT COUNT(*) FROM ipv4_leases l JOIN containers c ON c.id = l.container_id WHERE c.name = ?",
            arguments: [name]) ?? 0
    }

    /// The lease of one NIC of a container, if any.
    public static func forDevice(_ device: String, container: Int64, in db: Database) throws -> IPv4LeaseRecord? {
        try filter(Column("container_id") == container && Column("device_name") == device).fetchOne(db)
    }

    /// The leases of a container, sorted by device name.
    public static func forContainer(_ container: Int64, in db: Database) throws -> [IPv4LeaseRecord] {
        try filter(Column("container_id") == container).order(Column("device_name")).fetchAll(db)
    }

    /// Every container's leases, each list sorted by device name (one query, for `list`).
    public static func byContainer(in db: Database) throws -> [Int64: [IPv4LeaseRecord]] {
        Dictionary(grouping: try order(Column("device_name")).fetchAll(db), by: \.containerId)
    }

    /// The addresses leased on a network, but the lease of NIC `device` of container `container`.
    public static func addresses(network: Int64, exceptContainer container: Int64, device: String, in db: Database) throws -> [String] {
        try String.fetchAll(
            db, sql: "SELECT address FROM ipv4_leases WHERE network_id = ? AND NOT (container_id = ? AND device_name = ?)",
            arguments: [network, container, device])
    }

    /// `DELETE FROM ipv4_leases WHERE container_id = ? AND device_name = ?`: drops one NIC's lease.
    public static func delete(container: Int64, device: String, in db: Database) throws {
        try db.execute(sql: "DELETE FROM ipv4_leases WHERE container_id = ? AND device_name = ?", arguments: [container, device])
    }

    /// Drops the container's leases of devices not in `kept` (all of them when `kept` is empty). Counts
    /// first and deletes only when there is something to delete (no write on the usual restart).
    /// - Returns: how many leases were deleted.
    @discardableResult
    public static func deleteStale(container: Int64, keeping kept: [String], in db: Database) throws -> Int {
        let stale = filter(Column("container_id") == container && !kept.contains(Column("device_name")))
        let count = try stale.fetchCount(db)
        if count > 0 { try stale.deleteAll(db) }
        return count
    }

    /// The names of the networks a container holds leases on, sorted.
    public static func networkNames(container: Int64, in db: Database) throws -> [String] {
        try String.fetchAll(
            db,
            sql: """
                SELECT DISTINCT n.name FROM ipv4_leases l JOIN networks n ON n.id = l.network_id WHERE l.container_id = ? ORDER BY n.name
                """, arguments: [container])
    }

    /// The ids of the containers holding leases on the network named `network`.
    public static func containerIDs(networkNamed network: String, in db: Database) throws -> Set<Int64> {
        Set(
            try Int64.fetchAll(
                db, sql: "SELECT l.container_id FROM ipv4_leases l JOIN networks n ON n.id = l.network_id WHERE n.name = ?",
                arguments: [network]))
    }
}
