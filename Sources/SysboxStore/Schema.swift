import GRDB

/// The numbered schema migrations of the sysbox state database.
///
/// Each migration is a step from one schema version to the next; a migration that has shipped is never
/// edited, only followed by a new one. `Schema.versions` lists them in order; the tests migrate an empty
/// database and a database stopped at every earlier version up to the newest.
///
/// Layout follows Incus's schema where it fits: every owner table `X` has `X_config (X_id, key, value)`,
/// devices are `X_devices (X_id, name, type)` plus `X_devices_config (device_id, key, value)`.
public enum Schema {
    /// Migration identifiers in the order they apply.
    public static let versions: [String] = ["v1-containers-profiles", "v2-snapshots-images", "v3-networks-leases-operations", "v4-explicit-privileged"]

    /// A migrator that knows every version; `upTo` stops at a given identifier (for tests).
    public static func migrator() -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration(versions[0], migrate: v1)
        migrator.registerMigration(versions[1], migrate: v2)
        migrator.registerMigration(versions[2], migrate: v3)
        migrator.registerMigration(versions[3], migrate: v4)
        return migrator
    }

    /// Creates `<table>_config`-style key/value rows owned by `ownerTable` through `ownerColumn`.
    private static func keyValueTable(_ db: Database, _ name: String, owner ownerTable: String, column ownerColumn: String) throws {
        try db.create(table: name) { t in
            t.autoIncrementedPrimaryKey("id")
            t.column(ownerColumn, .integer).notNull().indexed().references(ownerTable, onDelete: .cascade)
            t.column("key", .text).notNull()
            t.column("value", .text).notNull()
            t.uniqueKey([ownerColumn, "key"])
        }
    }

    /// Creates `<prefix>_devices` and `<prefix>_devices_config` for an owner table.
    private static func deviceTables(_ db: Database, prefix: String, owner ownerTable: String, column ownerColumn: String) throws {
        try db.create(table: "\(prefix)_devices") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column(ownerColumn, .integer).notNull().indexed().references(ownerTable, onDelete: .cascade)
            t.column("name", .text).notNull()
            t.column("type", .text).notNull()
            t.uniqueKey([ownerColumn, "name"])
        }
        try keyValueTable(db, "\(prefix)_devices_config", owner: "\(prefix)_devices", column: "device_id")
    }

    /// v1: server settings, profiles, containers and their config, devices and ordered profiles.
    static func v1(_ db: Database) throws {
        try db.create(table: "settings") { t in
            t.primaryKey("key", .text)
            t.column("value", .text).notNull()
        }
        try db.create(table: "profiles") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull().unique()
            t.column("description", .text).notNull().defaults(to: "")
        }
        try keyValueTable(db, "profiles_config", owner: "profiles", column: "profile_id")
        try deviceTables(db, prefix: "profiles", owner: "profiles", column: "profile_id")

        try db.create(table: "containers") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull().unique()
            t.column("image", .text).notNull()
            t.column("description", .text).notNull().defaults(to: "")
            t.column("ephemeral", .boolean).notNull().defaults(to: false)
            t.column("created_at", .datetime).notNull()
            t.column("last_used_at", .datetime)
            // State of record: what sysbox last did, not what the kernel says (the runtime checks that).
            t.column("power_state", .text).notNull().defaults(to: "stopped")
                .check { ["stopped", "running", "frozen", "error"].contains($0) }
        }
        try keyValueTable(db, "containers_config", owner: "containers", column: "container_id")
        try deviceTables(db, prefix: "containers", owner: "containers", column: "container_id")
        try db.create(table: "containers_profiles") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("container_id", .integer).notNull().indexed().references("containers", onDelete: .cascade)
            // RESTRICT: a profile in use cannot disappear under a container.
            t.column("profile_id", .integer).notNull().indexed().references("profiles", onDelete: .restrict)
            t.column("apply_order", .integer).notNull()
            t.uniqueKey(["container_id", "profile_id"])
        }
    }

    /// v2: snapshots (with the frozen config, devices and profile list) and images with aliases.
    static func v2(_ db: Database) throws {
        try db.create(table: "snapshots") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("container_id", .integer).notNull().indexed().references("containers", onDelete: .cascade)
            t.column("name", .text).notNull()
            t.column("description", .text).notNull().defaults(to: "")
            t.column("created_at", .datetime).notNull()
            t.column("expires_at", .datetime)
            t.uniqueKey(["container_id", "name"])
        }
        try keyValueTable(db, "snapshots_config", owner: "snapshots", column: "snapshot_id")
        try deviceTables(db, prefix: "snapshots", owner: "snapshots", column: "snapshot_id")
        try db.create(table: "snapshots_profiles") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("snapshot_id", .integer).notNull().indexed().references("snapshots", onDelete: .cascade)
            // By name; a profile rename updates it, and a profile named here cannot be deleted
            // (both done in SysboxCore).
            t.column("profile_name", .text).notNull()
            t.column("apply_order", .integer).notNull()
            t.uniqueKey(["snapshot_id", "profile_name"])
        }

        try db.create(table: "images") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("fingerprint", .text).notNull().unique()
            t.column("template", .text).notNull()
            t.column("size", .integer).notNull().defaults(to: 0)
            t.column("created_at", .datetime).notNull()
            t.column("last_used_at", .datetime)
        }
        try keyValueTable(db, "images_properties", owner: "images", column: "image_id")
        try db.create(table: "images_aliases") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull().unique()
            t.column("image_id", .integer).notNull().indexed().references("images", onDelete: .cascade)
            t.column("description", .text).notNull().defaults(to: "")
        }
    }

    /// v3: managed networks, IPv4 leases and the operations journal used for crash recovery.
    static func v3(_ db: Database) throws {
        try db.create(table: "networks") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("name", .text).notNull().unique()
            t.column("description", .text).notNull().defaults(to: "")
            t.column("type", .text).notNull().defaults(to: "bridge")
        }
        try keyValueTable(db, "networks_config", owner: "networks", column: "network_id")
        try db.create(table: "ipv4_leases") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("network_id", .integer).notNull().indexed().references("networks", onDelete: .cascade)
            t.column("address", .text).notNull()
            t.column("container_id", .integer).notNull().indexed().references("containers", onDelete: .cascade)
            t.column("device_name", .text).notNull()
            t.column("hwaddr", .text).notNull().defaults(to: "")
            t.column("static", .boolean).notNull().defaults(to: false)
            t.column("created_at", .datetime).notNull()
            t.uniqueKey(["network_id", "address"])
            t.uniqueKey(["container_id", "device_name"])
        }
        try db.create(table: "operations") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("uuid", .text).notNull().unique()
            t.column("action", .text).notNull()
            t.column("entity_type", .text).notNull()
            t.column("entity_name", .text).notNull()
            t.column("status", .text).notNull().defaults(to: "running")
                .check { ["running", "done", "failed"].contains($0) }
            t.column("pid", .integer).notNull()
            t.column("created_at", .datetime).notNull()
            t.column("updated_at", .datetime).notNull()
            // JSON: what the operation has done so far, enough to finish or undo it.
            t.column("payload", .text).notNull().defaults(to: "{}")
        }
    }

    /// v4 (data only): containers and snapshots made before unprivileged containers existed ran
    /// privileged by default; each gets an explicit `security.privileged=true` so that it keeps running
    /// privileged once the default becomes false. Left alone: an owner that sets the key itself, or whose
    /// profiles set it (a profile's value, true or false, is what the user chose).
    static func v4(_ db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO containers_config (container_id, key, value)
                SELECT c.id, 'security.privileged', 'true' FROM containers c
                WHERE NOT EXISTS (SELECT 1 FROM containers_config k WHERE k.container_id = c.id AND k.key = 'security.privileged')
                AND NOT EXISTS (
                    SELECT 1 FROM containers_profiles cp JOIN profiles_config pk ON pk.profile_id = cp.profile_id
                    WHERE cp.container_id = c.id AND pk.key = 'security.privileged')
                """)
        try db.execute(
            sql: """
                INSERT INTO snapshots_config (snapshot_id, key, value)
                SELECT s.id, 'security.privileged', 'true' FROM snapshots s
                WHERE NOT EXISTS (SELECT 1 FROM snapshots_config k WHERE k.snapshot_id = s.id AND k.key = 'security.privileged')
                AND NOT EXISTS (
                    SELECT 1 FROM snapshots_profiles sp JOIN profiles p ON p.name = sp.profile_name
                    JOIN profiles_config pk ON pk.profile_id = p.id
                    WHERE sp.snapshot_id = s.id AND pk.key = 'security.privileged')
                """)
    }
}
