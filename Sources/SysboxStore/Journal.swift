import Foundation
import GRDB

/// What an operation in the journal does (`operations.action`). A copy is journalled as `create`
/// (its payload names the `frozen` source). Every value sysbox has ever written is here; a row with
/// another (a newer sysbox's) does not decode, and `Journal.inFlight` leaves it alone.
public enum JournalAction: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case create, delete, snapshot, restore
}

/// What kind of thing an operation works on (`operations.entity_type`). A `snapshot` entity is named
/// `container/snapshot`.
public enum JournalEntity: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case container, snapshot
}

/// Where an operation is (`operations.status`, the values the schema's CHECK admits).
public enum JournalStatus: String, Codable, Sendable, CaseIterable, DatabaseValueConvertible {
    case running, done, failed
}

/// A row of `operations`: one multi-step operation in flight (or finished), for crash recovery.
///
/// An operation is recorded *before* it touches the disk and marked done in the same transaction as its
/// last database change. After a crash, rows still `running` whose `pid` is gone tell the next `sysbox`
/// command what to finish or undo; `payload` (JSON, see `OperationPayload`) holds what the operation had done.
/// The enums are stored as the text they have always been.
public struct OperationRecord: StoreRecord {
    public static let databaseTableName = "operations"
    public var id: Int64?
    public var uuid: String
    public var action: JournalAction
    /// `entity_type`.
    public var entityType: JournalEntity
    public var entityName: String
    /// The column's CHECK admits only `JournalStatus`'s values.
    public var status: JournalStatus
    public var pid: Int32
    public var createdAt: Date
    public var updatedAt: Date
    public var payload: String

    enum CodingKeys: String, CodingKey {
        case id, uuid, action, status, pid, payload
        case entityType = "entity_type", entityName = "entity_name"
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    public var label: String { uuid }

    /// The payload decoded by the action's type. Reads every shape sysbox has written: `start` as a JSON
    /// number (create, delete) or as a decimal string (snapshot, restore and copy before issue 12).
    /// - Throws: `StoreError.internalError` for a payload that is not such JSON. Recovery treats that
    ///   as before: start time unknown (0), nothing frozen.
    public func decodedPayload() throws -> OperationPayload {
        try OperationPayload(action: action.rawValue, json: payload, operation: uuid)
    }
}

/// The operations journal (`operations` table).
public enum Journal {
    /// Records a new running operation of this process; the payload's type gives the action and the
    /// entity kind (`P.action`, `P.entity`). Call inside a write transaction.
    public static func begin<P: JournalPayload>(
        _ db: Database, _ payload: P, entityName: String,
        pid: Int32 = getpid(), now: Date = Date()
    ) throws -> OperationRecord {
        var op = OperationRecord(
            id: nil, uuid: UUID().uuidString.lowercased(), action: P.action, entityType: P.entity,
            entityName: entityName, status: .running, pid: pid, createdAt: now, updatedAt: now,
            payload: try payload.json())
        try op.insert(db)
        return op
    }

    /// Replaces the payload of a running operation (progress made so far).
    public static func update<P: JournalPayload>(_ db: Database, uuid: String, payload: P, now: Date = Date()) throws {
        try db.execute(sql: "UPDATE operations SET payload = ?, updated_at = ? WHERE uuid = ?", arguments: [try payload.json(), now, uuid])
    }

    /// Marks an operation `done` or `failed`. Finished rows are history; `prune` removes old ones.
    public static func finish(_ db: Database, uuid: String, failed: Bool = false, now: Date = Date()) throws {
        try finish(db, uuid: uuid, as: failed ? .failed : .done, now: now)
    }

    /// Sets an operation's status (`done` or `failed` when it ends).
    public static func finish(_ db: Database, uuid: String, as status: JournalStatus, now: Date = Date()) throws {
        try db.execute(sql: "UPDATE operations SET status = ?, updated_at = ? WHERE uuid = ?", arguments: [status, now, uuid])
    }

    /// Operations still marked `running`, oldest first. A row whose action or entity kind this build
    /// does not know (written by a newer sysbox) is left out, and so left for that sysbox to recover:
    /// this one cannot know what to finish or undo.
    public static func inFlight(_ db: Database) throws -> [OperationRecord] {
        try OperationRecord.filter(Column("status") == JournalStatus.running).order(Column("id")).asRequest(of: Row.self)
            .fetchAll(db).compactMap { try? OperationRecord(row: $0) }
    }

    /// Deletes finished operations last updated before `date`.
    public static func prune(_ db: Database, before date: Date) throws {
        try db.execute(sql: "DELETE FROM operations WHERE status != ? AND updated_at < ?", arguments: [JournalStatus.running, date])
    }
}
