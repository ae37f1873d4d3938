import Foundation
import GRDB
import SysboxStore
import Testing
@testable import SysboxCore

/// A state directory whose journal was written by sysbox before issue 12 (commit 268d7a4): rows
/// inserted with the test's own SQL, texts and payload shapes exactly as that code wrote them (`start`
/// a JSON number for create and delete, a decimal string for snapshot, restore and copy). The next
/// command recovers each interrupted operation through today's typed journal.
@Suite struct RecoveryOfOldJournalTests {
    /// How 268d7a4's `Journal.begin` stored a row (status `running`, this process's pid).
    @discardableResult
    static func journal(_ db: Database, _ action: String, _ entityType: String, _ entityName: String, payload: String) throws -> String {
        let uuid = UUID().uuidString.lowercased(), now = Date()
        try db.execute(
            sql: """
                INSERT INTO operations (uuid, action, entity_type, entity_name, status, pid, created_at, updated_at, payload)
                VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)
                """, arguments: [uuid, action, entityType, entityName, getpid(), now, now, payload])
        return uuid
    }

    /// 268d7a4's payloads: create and delete wrote `{"start":N}`; snapshot, restore and copy went
    /// through `Manager.payload`, which wrote every value as a string (sorted keys).
    static func numberStart(_ start: UInt64) -> String { "{\"start\":\(start)}" }
    static func stringStart(_ start: UInt64, frozen: String? = nil) -> String {
        frozen.map { "{\"frozen\":\"\($0)\",\"start\":\"\(start)\"}" } ?? "{\"start\":\"\(start)\"}"
    }

    static func mkdir(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    @Test func interruptedOperationsOfAnOldJournalRecover() throws {
        let f = try ManagerFixture()
        let dir = f.dir
        func paths(_ name: String) -> ContainerPaths { ContainerPaths(stateDirectory: dir, name: name) }
        // The writer was this process, but another incarnation of its pid (start time 1): dead.
        let dead: UInt64 = 1
        let alive = try #require(Host.startTime(of: getpid()))
        var uuids: [String: String] = [:]
        try f.manager.store.write { db in
            try Settings.set(db, "storage.driver", "dir")
            for name in ["c1", "new", "gone", "dst"] {
                var c = ContainerRecord(name: name, image: "busybox")
                try c.insert(db)
            }
            try db.execute(sql: "UPDATE containers SET power_state = 'stopped' WHERE name = 'c1'")
            let c1 = try #require(try ContainerRecord.named("c1", in: db)).requireID()
            try ConfigTable.containers.set(db, owner: c1, key: "volatile.uuid", value: "keep-me")
            try ConfigTable.containers.set(db, owner: c1, key: "limits.cpu", value: "1")
            var snap = SnapshotRecord(containerId: c1, name: "snap1")
            try snap.insert(db)
            try ConfigTable.snapshots.set(db, owner: try snap.requireID(), key: "limits.cpu", value: "2")
            try db.execute(
                sql: "INSERT INTO snapshots_profiles (snapshot_id, profile_name, apply_order) VALUES (?, 'default', 0)",
                arguments: [snap.id])

            uuids["create"] = try Self.journal(db, "create", "container", "new", payload: Self.numberStart(dead))
            uuids["delete"] = try Self.journal(db, "delete", "container", "gone", payload: Self.numberStart(dead))
            uuids["snapshot"] = try Self.journal(db, "snapshot", "snapshot", "c1/snap0", payload: Self.stringStart(dead))
            uuids["restore"] = try Self.journal(db, "restore", "snapshot", "c1/snap1", payload: Self.stringStart(dead))
            uuids["copy"] = try Self.journal(db, "create", "container", "dst", payload: Self.stringStart(dead, frozen: "c1"))
            // Its writer still runs (this process, its start time as a string): left alone.
            uuids["running"] = try Self.journal(db, "snapshot", "snapshot", "c1/snap2", payload: Self.stringStart(alive))
        }
        func short(_ key: String) -> String { String(uuids[key, default: ""].prefix(8)) }
        // What each had done on disk when it was killed.
        try Self.mkdir(paths("new").rootfs)
        try Self.mkdir(paths("dst").rootfs)
        let tmp = paths("c1").snapshots + "/.tmp-\(short("snapshot"))"
        try Self.mkdir(tmp + "/data")
        try Self.mkdir(paths("c1").snapshot("snap0") + "/data")
        try (uuids["snapshot", default: ""] + "\n").write(toFile: paths("c1").snapshot("snap0") + "/operation", atomically: true, encoding: .utf8)
        // The restore was half-swapped: old files aside, the snapshot's copy ready.
        let data = paths("c1").rootfs
        let fresh = data + ".restore-new-\(short("restore"))", old = data + ".restore-old-\(short("restore"))"
        try Self.mkdir(fresh)
        try "restored\n".write(toFile: fresh + "/marker", atomically: true, encoding: .utf8)
        try Self.mkdir(old)

        try f.manager.recover()

        try f.manager.store.read { db in
            #expect(try ContainerRecord.allNames(in: db) == ["c1"])
            let status = Dictionary(
                uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT uuid, status FROM operations").map {
                    ($0["uuid"] as String, $0["status"] as String)
                })
            #expect(status[uuids["create", default: ""]] == "failed")
            #expect(status[uuids["delete", default: ""]] == "done")
            #expect(status[uuids["snapshot", default: ""]] == "failed")
            #expect(status[uuids["restore", default: ""]] == "done")
            #expect(status[uuids["copy", default: ""]] == "failed")
            #expect(status[uuids["running", default: ""]] == "running")
            let c1 = try #require(try ContainerRecord.named("c1", in: db)).requireID()
            #expect(try ConfigTable.containers.load(db, owner: c1) == ["limits.cpu": "2", "volatile.uuid": "keep-me"])
            #expect(try ContainerProfiles.load(db, container: c1).map(\.name) == ["default"])
            #expect(try SnapshotRecord.names(container: c1, in: db) == ["snap1"])
        }
        #expect(!Self.exists(paths("new").directory))
        #expect(!Self.exists(paths("dst").directory))
        #expect(!Self.exists(tmp))
        #expect(!Self.exists(paths("c1").snapshot("snap0")))
        #expect(Self.exists(data + "/marker"))
        #expect(!Self.exists(fresh) && !Self.exists(old))
        // A second command finds nothing more to do.
        try f.manager.recover()
        #expect(try f.manager.store.read { db in try Journal.inFlight(db) }.map(\.uuid) == [uuids["running", default: ""]])
    }
}
