import Foundation
import GRDB
import Testing
@testable import SysboxStore

/// Payloads exactly as SysboxCore writes them before issue 12 (the format strings are copied from it).
enum TodaysPayloads {
    /// Containers.swift (create) and Runtime/Lifecycle.swift (delete): `start` as a JSON number.
    static func numberStart(_ start: UInt64) -> String { "{\"start\":\(start)}" }

    /// Snapshots.swift `Manager.payload`, used by snapshot, restore and copy: `start` as a string.
    static func payload(_ values: [String: String]) -> String {
        (try? String(decoding: JSONSerialization.data(withJSONObject: values, options: [.sortedKeys]), as: UTF8.self)) ?? "{}"
    }

    /// Snapshots.swift (snapshot, restore).
    static func stringStart(_ start: UInt64) -> String { payload(["start": "\(start)"]) }

    /// Copy.swift: a copy of a running source also names it under `frozen`.
    static func copy(_ start: UInt64, frozen source: String?) -> String {
        var payload = ["start": "\(start)"]
        if let source { payload["frozen"] = source }
        return Self.payload(payload)
    }

    /// Journal.swift `Journal.begin(_:action:entityType:entityName:payload:)` before issue 12: the row as
    /// it wrote it, texts as given (the test's own SQL, so no type of this build shapes it).
    @discardableResult
    static func begin(
        _ db: Database, action: String, entityType: String, entityName: String, payload: String = "{}",
        now: Date = Date()
    ) throws -> String {
        let uuid = UUID().uuidString.lowercased()
        try db.execute(
            sql: """
                INSERT INTO operations (uuid, action, entity_type, entity_name, status, pid, created_at, updated_at, payload)
                VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)
                """, arguments: [uuid, action, entityType, entityName, getpid(), now, now, payload])
        return uuid
    }

    /// Runtime/Lifecycle.swift `recoverInterruptedOperations`: how today's recovery reads `start`.
    static func recoveredStart(_ json: String) -> UInt64? {
        let payload = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]
        return (payload?["start"] as? UInt64) ?? (payload?["start"] as? String).flatMap { UInt64($0) }
    }
}

@Suite struct JournalEnumTests {
    @Test func storedStrings() {
        #expect(PowerState.allCases.map(\.rawValue) == ["running", "stopped", "frozen", "error"])
        #expect(JournalAction.allCases.map(\.rawValue) == ["create", "delete", "snapshot", "restore"])
        #expect(JournalEntity.allCases.map(\.rawValue) == ["container", "snapshot"])
        #expect(JournalStatus.allCases.map(\.rawValue) == ["running", "done", "failed"])
    }

    /// Every enum value goes through the column's CHECK and comes back as itself, in both directions
    /// (typed write → stored text → typed read).
    @Test func roundTripThroughTheDatabase() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in
            for state in PowerState.allCases {
                var c = ContainerRecord(name: "c-\(state)", image: "i", state: state)
                try c.insert(db)
                #expect(try String.fetchOne(db, sql: "SELECT power_state FROM containers WHERE name = ?", arguments: [c.name]) == state.rawValue)
                #expect(try ContainerRecord.named(c.name, in: db)?.state == state)
                #expect(try PowerState.fetchOne(db, sql: "SELECT power_state FROM containers WHERE name = ?", arguments: [c.name]) == state)
            }
            for action in JournalAction.allCases {
                for entity in JournalEntity.allCases {
                    let uuid = try TodaysPayloads.begin(db, action: action.rawValue, entityType: entity.rawValue, entityName: "e")
                    let row = try #require(try OperationRecord.filter(Column("uuid") == uuid).fetchOne(db))
                    #expect(row.action == action)
                    #expect(row.entityType == entity)
                    #expect(row.status == .running)
                    for status in JournalStatus.allCases {
                        try Journal.finish(db, uuid: uuid, as: status)
                        #expect(try String.fetchOne(db, sql: "SELECT status FROM operations WHERE uuid = ?", arguments: [uuid]) == status.rawValue)
                        #expect(try OperationRecord.filter(Column("uuid") == uuid).fetchOne(db)?.status == status)
                    }
                }
            }
        }
    }

    /// The typed fields cannot hold a value this build does not know: the schema's CHECKs refuse an
    /// unknown power state or status, and an operation with an unknown action or entity kind (a newer
    /// sysbox's) does not decode, so recovery never sees it and it stays `running` for that sysbox.
    @Test func unknownStoredValues() throws {
        #expect(ContainerRecord(name: "c", image: "i").state == .stopped)
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in
            var c = ContainerRecord(name: "c", image: "i")
            try c.insert(db)
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE containers SET power_state = 'paused' WHERE name = 'c'") }
            #expect(try ContainerRecord.named("c", in: db)?.state == .stopped)
            let known = try TodaysPayloads.begin(db, action: "create", entityType: "container", entityName: "a")
            #expect(throws: DatabaseError.self) { try db.execute(sql: "UPDATE operations SET status = 'odd' WHERE uuid = ?", arguments: [known]) }
            let unknown = try TodaysPayloads.begin(db, action: "migrate", entityType: "volume", entityName: "x")
            try TodaysPayloads.begin(db, action: "create", entityType: "volume", entityName: "y")
            try TodaysPayloads.begin(db, action: "migrate", entityType: "container", entityName: "z")
            #expect(try Journal.inFlight(db).map(\.uuid) == [known])
            let row = try #require(try Row.fetchOne(db, sql: "SELECT * FROM operations WHERE uuid = ?", arguments: [unknown]))
            #expect(throws: (any Error).self) { try OperationRecord(row: row) }
            #expect(try String.fetchAll(db, sql: "SELECT status FROM operations ORDER BY id") == ["running", "running", "running", "running"])
        }
    }

    @Test func snapshotEntityNames() {
        let name = Journal.snapshotEntityName(container: "c1", snapshot: "snap0")
        #expect(name == "c1/snap0")
        func target(_ entity: String) -> [String]? {
            let op = OperationRecord(
                id: nil, uuid: "u", action: .snapshot, entityType: .snapshot, entityName: entity,
                status: .running, pid: 1, createdAt: Date(), updatedAt: Date(), payload: "{}")
            return op.snapshotTarget.map { [$0.container, $0.snapshot] }
        }
        #expect(target(name) == ["c1", "snap0"])
        #expect(target("c1") == nil)
        #expect(target("c1/a/b") == ["c1", "a/b"])
    }
}

@Suite struct JournalPayloadTests {
    @Test func createAndDeleteAsTodayWritesThem() throws {
        let json = TodaysPayloads.numberStart(123_456)
        #expect(json == "{\"start\":123456}")
        #expect(try OperationPayload(action: "create", json: json) == .create(CreatePayload(start: 123_456)))
        #expect(try OperationPayload(action: "delete", json: json) == .delete(DeletePayload(start: 123_456)))
        // Host.startTime(of:) ?? 0: a writer that could not read its start time.
        #expect(try OperationPayload(action: "create", json: TodaysPayloads.numberStart(0)).start == 0)
    }

    @Test func snapshotAndRestoreAsTodayWritesThem() throws {
        let json = TodaysPayloads.stringStart(987_654_321)
        #expect(json == "{\"start\":\"987654321\"}")
        let snapshot = try OperationPayload(action: "snapshot", json: json)
        #expect(snapshot == .snapshot(SnapshotPayload(start: 987_654_321)))
        #expect(snapshot.action == .snapshot)
        #expect(snapshot.frozen == nil)
        #expect(try OperationPayload(action: "restore", json: json) == .restore(RestorePayload(start: 987_654_321)))
    }

    @Test func copyAsTodayWritesIt() throws {
        let running = TodaysPayloads.copy(42, frozen: "src")
        #expect(running == "{\"frozen\":\"src\",\"start\":\"42\"}")
        let decoded = try OperationPayload(action: "create", json: running)
        #expect(decoded == .create(CreatePayload(start: 42, frozen: "src")))
        #expect(decoded.start == 42)
        #expect(decoded.frozen == "src")
        let stopped = try OperationPayload(action: "create", json: TodaysPayloads.copy(42, frozen: nil))
        #expect(stopped == .create(CreatePayload(start: 42)))
        #expect(stopped.frozen == nil)
    }

    /// The typed payloads write `start` as a number, which today's recovery also reads (a database
    /// journalled by the new code recovers under an older sysbox too).
    @Test func newShapeIsReadByTodaysRecovery() throws {
        let payloads: [any JournalPayload] = [
            CreatePayload(start: 77, frozen: "src"), CreatePayload(start: 77), DeletePayload(start: 77),
            SnapshotPayload(start: 77), RestorePayload(start: 77)
        ]
        for payload in payloads {
            let json = try payload.json()
            #expect(TodaysPayloads.recoveredStart(json) == 77, "\(json)")
            let decoded = try OperationPayload(action: type(of: payload).action.rawValue, json: json)
            #expect(decoded.start == 77)
            #expect(decoded.action == type(of: payload).action)
        }
        #expect(try CreatePayload(start: 77, frozen: "src").json() == "{\"frozen\":\"src\",\"start\":77}")
        #expect(try CreatePayload(start: 77).json() == "{\"start\":77}")
        #expect(try SnapshotPayload(start: UInt64.max).json() == "{\"start\":\(UInt64.max)}")
        #expect(try OperationPayload(action: "snapshot", json: SnapshotPayload(start: UInt64.max).json()).start == UInt64.max)
    }

    @Test func missingStartIsUnknown() throws {
        // Journal.begin's default payload: today's recovery reads start 0 from it.
        #expect(try OperationPayload(action: "delete", json: "{}") == .delete(DeletePayload(start: 0)))
        #expect(TodaysPayloads.recoveredStart("{}") == nil)
    }

    @Test func badPayloadsAreNamedInternalErrors() {
        for (action, json) in [
            ("create", "{\"start\":\"soon\"}"), ("delete", "not json"), ("snapshot", "{\"start\":-1}"),
            ("restore", "[1]"), ("migrate", "{\"start\":1}")
        ] {
            do {
                _ = try OperationPayload(action: action, json: json, operation: "abcd")
                Issue.record("decoded \(action) \(json)")
            } catch let error as StoreError {
                guard case .internalError = error else { Issue.record("wrong error \(error)"); continue }
                #expect(error.description.hasPrefix("internal error: operation abcd"), "\(error)")
            } catch {
                Issue.record("not a StoreError: \(error)")
            }
        }
    }

    @Test func typedJournalWritesActionEntityAndPayload() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let store = try Store(directory: dir.path)
        try store.write { db in
            let create = try Journal.begin(db, CreatePayload(start: 5, frozen: "src"), entityName: "dst")
            let snap = try Journal.begin(db, SnapshotPayload(start: 6), entityName: Journal.snapshotEntityName(container: "c", snapshot: "s"))
            let ops = try Journal.inFlight(db)
            #expect(ops.map(\.uuid) == [create.uuid, snap.uuid])
            #expect(ops.map(\.action) == [.create, .snapshot])
            #expect(ops.map(\.entityType) == [.container, .snapshot])
            #expect(ops.map(\.status) == [.running, .running])
            #expect(
                try String.fetchAll(db, sql: "SELECT action || ' ' || entity_type || ' ' || status FROM operations ORDER BY id")
                    == ["create container running", "snapshot snapshot running"])
            #expect(try ops.map { try $0.decodedPayload() } == [.create(CreatePayload(start: 5, frozen: "src")), .snapshot(SnapshotPayload(start: 6))])
            try Journal.update(db, uuid: create.uuid, payload: CreatePayload(start: 5))
            #expect(try Journal.inFlight(db).first?.decodedPayload() == .create(CreatePayload(start: 5)))
            try Journal.finish(db, uuid: create.uuid)
            try Journal.finish(db, uuid: snap.uuid, failed: true)
            #expect(try Journal.inFlight(db).isEmpty)
            #expect(try String.fetchAll(db, sql: "SELECT status FROM operations ORDER BY id") == ["done", "failed"])
            try Journal.prune(db, before: Date().addingTimeInterval(60))
            #expect(try OperationRecord.fetchCount(db) == 0)
        }
    }
}

/// A database written by today's code (schema v3, the strings and payload shapes of today's Core) opens
/// under this build and its in-flight journal decodes, so an operation interrupted before the upgrade
/// still recovers after it.
@Suite struct TodaysDatabaseTests {
    static let lastVersionBeforeIssue12 = "v3-networks-leases-operations"

    @Test func openAndDecodeInFlightOperations() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let start: UInt64 = 4_242_424
        do {
            let old = try Store(directory: dir.path, upTo: Self.lastVersionBeforeIssue12)
            try old.write { db in
                // As today's Core does: the string API and the raw SQL of Runtime/Lifecycle.swift.
                for name in ["up", "down", "dst"] {
                    var c = ContainerRecord(name: name, image: "debian")
                    try c.insert(db)
                }
                try db.execute(sql: "UPDATE containers SET power_state = ? WHERE name = ?", arguments: ["running", "up"])
                try db.execute(sql: "UPDATE containers SET last_used_at = ? WHERE name = ?", arguments: [Date(), "up"])
                try db.execute(sql: "UPDATE containers SET power_state = ? WHERE name = ?", arguments: ["stopped", "down"])
                try TodaysPayloads.begin(db, action: "create", entityType: "container", entityName: "new", payload: TodaysPayloads.numberStart(start))
                try TodaysPayloads.begin(db, action: "delete", entityType: "container", entityName: "down", payload: TodaysPayloads.numberStart(start))
                try TodaysPayloads.begin(db, action: "snapshot", entityType: "snapshot", entityName: "up/snap0", payload: TodaysPayloads.stringStart(start))
                try TodaysPayloads.begin(db, action: "restore", entityType: "snapshot", entityName: "down/snap1", payload: TodaysPayloads.stringStart(start))
                try TodaysPayloads.begin(db, action: "create", entityType: "container", entityName: "dst", payload: TodaysPayloads.copy(start, frozen: "up"))
                let done = try TodaysPayloads.begin(db, action: "create", entityType: "container", entityName: "old", payload: TodaysPayloads.numberStart(1))
                try db.execute(sql: "UPDATE operations SET status = 'done', updated_at = ? WHERE uuid = ?", arguments: [Date(), done])
            }
        }
        let store = try Store(directory: dir.path)
        #expect(try store.appliedVersions() == Schema.versions.sorted())
        try store.read { db in
            #expect(try ContainerRecord.named("up", in: db)?.state == .running)
            #expect(try ContainerRecord.named("up", in: db)?.lastUsedAt != nil)
            #expect(try ContainerRecord.named("down", in: db)?.state == .stopped)
            let ops = try Journal.inFlight(db)
            #expect(ops.map(\.entityName) == ["new", "down", "up/snap0", "down/snap1", "dst"])
            #expect(ops.map(\.action) == [.create, .delete, .snapshot, .restore, .create])
            #expect(ops.map(\.entityType) == [.container, .container, .snapshot, .snapshot, .container])
            #expect(ops.allSatisfy { $0.status == .running })
            let payloads = try ops.map { try $0.decodedPayload() }
            #expect(
                payloads == [
                    .create(CreatePayload(start: start)), .delete(DeletePayload(start: start)),
                    .snapshot(SnapshotPayload(start: start)), .restore(RestorePayload(start: start)),
                    .create(CreatePayload(start: start, frozen: "up"))
                ])
            // What recovery asks of each: the writer's start time agrees with today's reading of it.
            for (op, payload) in zip(ops, payloads) {
                #expect(payload.start == TodaysPayloads.recoveredStart(op.payload))
            }
            #expect(ops[2].snapshotTarget.map { [$0.container, $0.snapshot] } == ["up", "snap0"])
        }
        // And the new code finishes them as the old did.
        try store.write { db in
            for op in try Journal.inFlight(db) { try Journal.finish(db, uuid: op.uuid, as: op.action == .create ? .failed : .done) }
            #expect(try Journal.inFlight(db).isEmpty)
        }
    }
}
