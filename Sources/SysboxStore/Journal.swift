import Foundation
import GRDB

/// A row of `operations`: one multi-step operation in flight (or finished), for crash recovery.
///
/// An operation is recorded *before* it touches the disk and marked done in the same transaction as its
/// last database change. After a crash, rows still `running` whose `pid` is gone tell the next `sysbox`
/// command what to finish or undo; `payload` (JSON) holds what the operation had done.
public struct OperationRecord: Codable, FetchableRecord, MutablePersistableRecord, Sendable, Equatable {
    public static let databaseTableName = "operations"
    public var id: Int64?
    public var uuid: String
    public var action: String
    public var entityType: String
    public var entityName: String
    public var status: String
    public var pid: Int32
    public var createdAt: Date
    public var updatedAt: Date
    public var payload: String

    enum CodingKeys: String, CodingKey {
        case id, uuid, action, status, pid, payload
        case entityType = "entity_type", entityName = "entity_name"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// The operations journal (`operations` table).
public enum Journal {
    /// Records a new running operation of this process. Call inside a write transaction.
    public static func begin(_ db: Database, action: String, entityType: String, entityName: String,
                             payload: String = "{}", pid: Int32 = getpid(), now: Date = Date()) throws -> OperationRecord {
        var op = OperationRecord(id: nil, uuid: UUID().uuidString.lowercased(), action: action, entityType: entityType,
                                 entityName: entityName, status: "running", pid: pid, createdAt: now, updatedAt: now,
                                 payload: payload)
        try op.insert(db)
        return op
    }

    /// Replaces the payload of a running operation (progress made so far).
    public static func update(_ db: Database, uuid: String, payload: String, now: Date = Date()) throws {
        try db.execute(sql: "UPDATE operations SET payload = ?, updated_at = ? WHERE uuid = ?", arguments: [payload, now, uuid])
    }

    /// Marks an operation `done` or `failed`. Finished rows are history; `prune` removes old ones.
    public static func finish(_ db: Database, uuid: String, failed: Bool = false, now: Date = Date()) throws {
        try db.execute(sql: "UPDATE operations SET status = ?, updated_at = ? WHERE uuid = ?",
                       arguments: [failed ? "failed" : "done", now, uuid])
    }

    /// Operations still marked `running`, oldest first.
    public static func inFlight(_ db: Database) throws -> [OperationRecord] {
        try OperationRecord.filter(Column("status") == "running").order(Column("id")).fetchAll(db)
    }

    /// Deletes finished operations last updated before `date`.
    public static func prune(_ db: Database, before date: Date) throws {
        try db.execute(sql: "DELETE FROM operations WHERE status != 'running' AND updated_at < ?", arguments: [date])
    }
}
