import Foundation
import GRDB
import Testing
@testable import SysboxStore

/// A fresh state directory under /tmp, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sysbox-store-test-\(UUID().uuidString)"
    }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// The schema as SQL text, for comparing two databases.
func schemaSQL(_ store: Store) throws -> [String] {
    try store.read { db in
        try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'grdb_%' ORDER BY name")
    }
}

@Suite struct SchemaTests {
    @Test func emptyDatabaseMigratesToNewest() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        #expect(try store.appliedVersions() == Schema.versions.sorted())
        let tables = try store.read { db in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") }
        for table in [
            "containers", "containers_config", "containers_devices", "containers_devices_config", "containers_profiles",
            "profiles", "profiles_config", "profiles_devices", "profiles_devices_config", "snapshots",
            "snapshots_config", "snapshots_devices", "snapshots_devices_config", "snapshots_profiles", "images",
            "images_properties", "images_aliases", "networks", "networks_config", "ipv4_leases", "operations", "settings"
        ] {
            #expect(tables.contains(table), "missing table \(table)")
        }
        let pragmas = try store.read { db in
            (try String.fetchOne(db, sql: "PRAGMA journal_mode"), try Int.fetchOne(db, sql: "PRAGMA foreign_keys"))
        }
        #expect(pragmas.0 == "wal")
        #expect(try store.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)  // FULL
        #expect(pragmas.1 == 1)
        let mode = try FileManager.default.attributesOfItem(atPath: store.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    /// Opening an existing database and reading writes nothing: no WAL frame (a commit would fsync),
    /// nothing for the checkpoint at close, the file untouched. Every read-only command opens it so.
    @Test func readingWritesNothing() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        _ = try Store(directory: dir.path)
        let path = dir.path + "/sysbox.db"
        let before = try FileManager.default.attributesOfItem(atPath: path)
        usleep(20_000)
        do {
            let store = try Store(directory: dir.path)
            #expect(try store.appliedVersions() == Schema.versions.sorted())
            #expect(try store.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
            let wal = (try? FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
            #expect(wal == 0, "opening and reading wrote \(wal) bytes of WAL")
        }
        let after = try FileManager.default.attributesOfItem(atPath: path)
        #expect(after[.modificationDate] as? Date == before[.modificationDate] as? Date)
        #expect(after[.size] as? Int == before[.size] as? Int)
    }

    /// Data written at every earlier version survives the upgrade, and the upgraded schema is exactly the
    /// schema of a new database.
    @Test(arguments: Schema.versions.indices)
    func upgradesFromEveryEarlierVersion(_ index: Int) throws {
        let fresh = TempDir()
        defer { fresh.cleanup() }
        let expected = try schemaSQL(try Store(directory: fresh.path))

        let dir = TempDir()
        defer { dir.cleanup() }
        let old = try Store(directory: dir.path, upTo: Schema.versions[index])
        #expect(try old.appliedVersions() == Array(Schema.versions[...index]).sorted())
        try old.write { db in
            var p = ProfileRecord(name: "default", description: "d")
            try p.insert(db)
            try ConfigTable.profiles.replace(db, owner: p.id!, with: ["limits.cpu": "2"])
            try DeviceTable.profiles.replace(db, owner: p.id!, with: ["root": ["type": "disk", "path": "/"]])
            var c = ContainerRecord(name: "c1", image: "debian")
            try c.insert(db)
            try ConfigTable.containers.replace(db, owner: c.id!, with: ["user.a": "b"])
            try ContainerProfiles.replace(db, container: c.id!, profiles: [p.id!])
            if index >= 1 {
                var s = SnapshotRecord(containerId: c.id!, name: "snap0")
                try s.insert(db)
                var i = ImageRecord(fingerprint: "abc", template: "debian", size: 1)
                try i.insert(db)
                var a = ImageAliasRecord(name: "debian/12", imageId: i.id!)
                try a.insert(db)
            }
            if index >= 2 {
                var n = NetworkRecord(name: "sysboxbr0")
                try n.insert(db)
                var l = IPv4LeaseRecord(networkId: n.id!, address: "10.1.2.3", containerId: c.id!, deviceName: "eth0")
                try l.insert(db)
            }
        }
        let upgraded = try Store(directory: dir.path)
        // The pre-upgrade copy is there when there was something to upgrade, and holds the old data.
        let backup = dir.path + "/sysbox.db.pre-" + (index + 1 < Schema.versions.count ? Schema.versions[index + 1] : "")
        #expect(FileManager.default.fileExists(atPath: backup) == (index + 1 < Schema.versions.count))
        #expect(try upgraded.appliedVersions() == Schema.versions.sorted())
        #expect(try schemaSQL(upgraded) == expected)
        try upgraded.read { db in
            let c = try #require(try ContainerRecord.named("c1", in: db))
            // Made before v4: v4 gave it an explicit security.privileged=true (its profile does not set it).
            let privileged: [String: String] = index < 3 ? ["security.privileged": "true"] : [:]
            #expect(try ConfigTable.containers.load(db, owner: c.id!) == ["user.a": "b"].merging(privileged) { a, _ in a })
            #expect(try ContainerProfiles.load(db, container: c.id!).map(\.name) == ["default"])
            let p = try #require(try ProfileRecord.named("default", in: db))
            #expect(try DeviceTable.profiles.load(db, owner: p.id!) == ["root": ["type": "disk", "path": "/"]])
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshots") == (index >= 1 ? 1 : 0))
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ipv4_leases") == (index >= 2 ? 1 : 0))
        }
    }

    /// v4 gives every container and snapshot an explicit security.privileged=true, unless it or one of
    /// its profiles sets the key.
    @Test func v4MakesPrivilegedExplicit() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let old = try Store(directory: dir.path, upTo: Schema.versions[2])
        let ids = try old.write { db -> [String: Int64] in
            var ids: [String: Int64] = [:]
            var plain = ProfileRecord(name: "plain")
            try plain.insert(db)
            try ConfigTable.profiles.replace(db, owner: plain.id!, with: ["limits.cpu": "2"])
            var unpriv = ProfileRecord(name: "unpriv")
            try unpriv.insert(db)
            try ConfigTable.profiles.replace(db, owner: unpriv.id!, with: ["security.privileged": "false"])
            for (name, config, profiles) in [
                ("bare", [:], []), ("withprofile", ["user.a": "b"], [plain.id!]), ("ownfalse", ["security.privileged": "false"], [plain.id!]),
                ("owntrue", ["security.privileged": "true"], []), ("profilefalse", [:], [plain.id!, unpriv.id!])
            ] as [(String, [String: String], [Int64])] {
                var c = ContainerRecord(name: name, image: "busybox")
                try c.insert(db)
                try ConfigTable.containers.replace(db, owner: c.id!, with: config)
                try ContainerProfiles.replace(db, container: c.id!, profiles: profiles)
                ids[name] = c.id!
            }
            for (name, config, profiles) in [("s-bare", [:], ["plain"]), ("s-own", ["security.privileged": "false"], []), ("s-profile", [:], ["unpriv"])]
                as [(String, [String: String], [String])]
            {
                var s = SnapshotRecord(containerId: ids["bare"]!, name: name)
                try s.insert(db)
                try ConfigTable.snapshots.replace(db, owner: s.id!, with: config)
                try SnapshotProfiles.replace(db, snapshot: s.id!, profiles: profiles)
                ids[name] = s.id!
            }
            return ids
        }
        let upgraded = try Store(directory: dir.path)
        let (containers, snapshots) = try upgraded.read { db in (try ConfigTable.containers.loadAll(db), try ConfigTable.snapshots.loadAll(db)) }
        func container(_ name: String) -> [String: String] { containers[ids[name]!] ?? [:] }
        func snapshot(_ name: String) -> [String: String] { snapshots[ids[name]!] ?? [:] }
        do {
            #expect(container("bare") == ["security.privileged": "true"])
            #expect(container("withprofile") == ["user.a": "b", "security.privileged": "true"])
            #expect(container("ownfalse") == ["security.privileged": "false"])
            #expect(container("owntrue") == ["security.privileged": "true"])
            #expect(container("profilefalse") == [:])
            #expect(snapshot("s-bare") == ["security.privileged": "true"])
            #expect(snapshot("s-own") == ["security.privileged": "false"])
            #expect(snapshot("s-profile") == [:])
        }
        // Reopening runs nothing again.
        _ = try Store(directory: dir.path)
        #expect(try upgraded.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM containers_config WHERE key = 'security.privileged'") } == 4)
    }

    @Test func newerDatabaseIsRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-future')") }
        #expect(throws: StoreError.newerSchema(path: store.path, unknown: ["v99-future"])) {
            _ = try Store(directory: dir.path)
        }
    }

    @Test func corruptFileIsNamed() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try FileManager.default.createDirectory(atPath: dir.path, withIntermediateDirectories: true)
        let path = dir.path + "/sysbox.db"
        let garbage = Data(repeating: 0x42, count: 8192)
        _ = FileManager.default.createFile(atPath: path, contents: garbage)
        do {
            _ = try Store(directory: dir.path)
            Issue.record("opened a corrupt database")
        } catch let error as StoreError {
            guard case .corrupt(let p, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(p == path)
            #expect(error.description.contains(path))
        }
        #expect(FileManager.default.contents(atPath: path) == garbage)
    }

    @Test func stateDirectoryThatIsAFileIsRefused() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        _ = FileManager.default.createFile(atPath: dir.path, contents: Data("x".utf8))
        #expect(throws: StoreError.badStateDirectory(path: dir.path, reason: "it is not a directory")) {
            _ = try Store(directory: dir.path)
        }
    }

    @Test func lockedDatabaseTimesOutWithANamedError() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path, busyTimeout: 0.2)
        let holder = try DatabaseQueue(path: store.path)
        try holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            #expect(throws: StoreError.locked(path: store.path, seconds: 0.2)) {
                try store.write { db in try Settings.set(db, "k", "v") }
            }
            try db.execute(sql: "ROLLBACK")
        }
        try store.write { db in try Settings.set(db, "k", "v") }
        #expect(try store.read { db in try Settings.get(db, "k") } == "v")
    }

    @Test func foreignKeysProtectProfilesAndCascadeContainers() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        let ids = try store.write { db -> (Int64, Int64) in
            var p = ProfileRecord(name: "p")
            try p.insert(db)
            var c = ContainerRecord(name: "c", image: "i")
            try c.insert(db)
            try ContainerProfiles.replace(db, container: c.id!, profiles: [p.id!])
            try ConfigTable.containers.set(db, owner: c.id!, key: "user.x", value: "1")
            try DeviceTable.containers.replace(db, owner: c.id!, with: ["d": ["type": "disk", "path": "/a", "source": "/b"]])
            return (p.id!, c.id!)
        }
        #expect(throws: DatabaseError.self) {
            try store.write { db in _ = try ProfileRecord.deleteOne(db, key: ids.0) }
        }
        try store.write { db in _ = try ContainerRecord.deleteOne(db, key: ids.1) }
        let leftovers = try store.read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT (SELECT COUNT(*) FROM containers_config) + (SELECT COUNT(*) FROM containers_devices) + (SELECT COUNT(*) FROM containers_devices_config) + (SELECT COUNT(*) FROM containers_profiles)"
            )
        }
        #expect(leftovers == 0)
    }

    @Test func failedWriteRollsBackEverything() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try store.write { db in
                var p = ProfileRecord(name: "half")
                try p.insert(db)
                throw Boom()
            }
        }
        #expect(try store.read { db in try ProfileRecord.fetchCount(db) } == 0)
    }
}

@Suite struct TableTests {
    @Test func configAndDevicesRoundTrip() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in
            var p = ProfileRecord(name: "p")
            try p.insert(db)
            let id = p.id!
            try ConfigTable.profiles.replace(db, owner: id, with: ["a": "1", "b": "2"])
            try ConfigTable.profiles.set(db, owner: id, key: "a", value: "3")
            try ConfigTable.profiles.set(db, owner: id, key: "b", value: nil)
            #expect(try ConfigTable.profiles.load(db, owner: id) == ["a": "3"])
            let devices: DeviceMap = ["eth0": ["type": "nic", "network": "br0"], "root": ["type": "disk", "path": "/"]]
            try DeviceTable.profiles.replace(db, owner: id, with: devices)
            #expect(try DeviceTable.profiles.load(db, owner: id) == devices)
            try DeviceTable.profiles.replace(db, owner: id, with: ["none0": ["type": "none"]])
            #expect(try DeviceTable.profiles.load(db, owner: id) == ["none0": ["type": "none"]])
        }
    }

    @Test func profileOrderIsKept() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in
            var ids: [Int64] = []
            for n in ["z", "a", "m"] {
                var p = ProfileRecord(name: n)
                try p.insert(db)
                ids.append(p.id!)
            }
            var c = ContainerRecord(name: "c", image: "i")
            try c.insert(db)
            try ContainerProfiles.replace(db, container: c.id!, profiles: ids)
            #expect(try ContainerProfiles.load(db, container: c.id!).map(\.name) == ["z", "a", "m"])
            try ContainerProfiles.replace(db, container: c.id!, profiles: ids.reversed())
            #expect(try ContainerProfiles.load(db, container: c.id!).map(\.name) == ["m", "a", "z"])
            #expect(try ContainerProfiles.users(db, profile: ids[0]) == ["c"])
        }
    }

    @Test func journalTracksOperations() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in
            let op = try Journal.begin(db, CreatePayload(start: 0), entityName: "c1")
            _ = try Journal.begin(db, DeletePayload(start: 0), entityName: "c2")
            try Journal.update(db, uuid: op.uuid, payload: CreatePayload(start: 1, frozen: "src"))
            #expect(try Journal.inFlight(db).map(\.entityName) == ["c1", "c2"])
            #expect(try Journal.inFlight(db).first?.payload == "{\"frozen\":\"src\",\"start\":1}")
            #expect(try Journal.inFlight(db).first?.pid == getpid())
            try Journal.finish(db, uuid: op.uuid)
            #expect(try Journal.inFlight(db).map(\.entityName) == ["c2"])
            try Journal.prune(db, before: Date().addingTimeInterval(60))
            #expect(try OperationRecord.fetchCount(db) == 1)
        }
    }
}
