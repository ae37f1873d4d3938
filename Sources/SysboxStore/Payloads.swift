import Foundation

/// The JSON payload of one journal action: what recovery needs to finish or undo it.
///
/// Each action has its own type; the type gives the action and the entity kind, so
/// `Journal.begin(db, DeletePayload(start: t), entityName: name)` cannot journal a mismatched pair.
/// Written with sorted keys and `start` as a JSON number.
public protocol JournalPayload: Codable, Sendable, Equatable {
    static var action: JournalAction { get }
    static var entity: JournalEntity { get }
    /// The writer's start time (field 22 of `/proc/PID/stat`, clock ticks after boot), so that recovery
    /// does not take a later process that reuses the pid for the writer. 0: the writer could not read it.
    var start: UInt64 { get }
}

extension JournalPayload {
    /// The payload as stored in `operations.payload`: sorted keys, no whitespace.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// A `start` field in either shape sysbox has written: a JSON number (create and delete), or the
/// number as a decimal string (snapshot, restore and copy, before issue 12). Always written as a number.
/// A missing field reads as 0 (unknown), as recovery has always treated it.
@propertyWrapper
public struct StartTime: Codable, Sendable, Equatable {
    public var wrappedValue: UInt64

    public init(wrappedValue: UInt64) { self.wrappedValue = wrappedValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(UInt64.self) {
            wrappedValue = number
            return
        }
        let text = try container.decode(String.self)
        guard let number = UInt64(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "start \"\(text)\" is not a process start time")
        }
        wrappedValue = number
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    /// A missing `start` is 0 rather than an error (the synthesised decoders of the payloads call this).
    func decode(_ type: StartTime.Type, forKey key: Key) throws -> StartTime {
        try decodeIfPresent(type, forKey: key) ?? StartTime(wrappedValue: 0)
    }
}

/// `create` of a container, and `copy` (journalled as the create of its target).
/// Recovery removes the half-made container and, when `frozen` names a copy's running source, thaws it.
public struct CreatePayload: JournalPayload {
    public static var action: JournalAction { .create }
    public static var entity: JournalEntity { .container }
    @StartTime public var start: UInt64
    /// The running source a copy froze for its file copy; nil for a plain create or a stopped source.
    public var frozen: String?

    public init(start: UInt64, frozen: String? = nil) {
        self.start = start
        self.frozen = frozen
    }
}

/// `delete` of a container. Recovery finishes it.
public struct DeletePayload: JournalPayload {
    public static var action: JournalAction { .delete }
    public static var entity: JournalEntity { .container }
    @StartTime public var start: UInt64

    public init(start: UInt64) { self.start = start }
}

/// `snapshot` of a container (entity `container/snapshot`). Recovery thaws the container and removes
/// a snapshot directory that was not recorded.
public struct SnapshotPayload: JournalPayload {
    public static var action: JournalAction { .snapshot }
    public static var entity: JournalEntity { .snapshot }
    @StartTime public var start: UInt64

    public init(start: UInt64) { self.start = start }
}

/// `restore` of a snapshot (entity `container/snapshot`). Recovery finishes a restore whose old files
/// were moved aside, else undoes it.
public struct RestorePayload: JournalPayload {
    public static var action: JournalAction { .restore }
    public static var entity: JournalEntity { .snapshot }
    @StartTime public var start: UInt64

    public init(start: UInt64) { self.start = start }
}

/// A decoded `operations.payload`, by action.
public enum OperationPayload: Sendable, Equatable {
    case create(CreatePayload)
    case delete(DeletePayload)
    case snapshot(SnapshotPayload)
    case restore(RestorePayload)

    /// Decodes `json` as the payload of `action`.
    /// - Throws: `StoreError.internalError` naming the operation, for an unknown action or bad JSON.
    public init(action: String, json: String, operation uuid: String = "?") throws {
        guard let kind = JournalAction(rawValue: action) else {
            throw StoreError.internalError("operation \(uuid) has an unknown action \"\(action)\"")
        }
        let data = Data(json.utf8), decoder = JSONDecoder()
        do {
            switch kind {
            case .create: self = .create(try decoder.decode(CreatePayload.self, from: data))
            case .delete: self = .delete(try decoder.decode(DeletePayload.self, from: data))
            case .snapshot: self = .snapshot(try decoder.decode(SnapshotPayload.self, from: data))
            case .restore: self = .restore(try decoder.decode(RestorePayload.self, from: data))
            }
        } catch {
            throw StoreError.internalError("operation \(uuid): payload \(json) is not a \(kind) payload (\(error))")
        }
    }

    public var action: JournalAction {
        switch self {
        case .create: .create
        case .delete: .delete
        case .snapshot: .snapshot
        case .restore: .restore
        }
    }

    /// The writer's start time (0: unknown).
    public var start: UInt64 {
        switch self {
        case let .create(p): p.start
        case let .delete(p): p.start
        case let .snapshot(p): p.start
        case let .restore(p): p.start
        }
    }

    /// The running source a copy froze (only a `create` that is a copy has one).
    public var frozen: String? {
        if case let .create(p) = self { return p.frozen }
        return nil
    }
}

extension Journal {
    /// The entity name of a snapshot operation: `container/snapshot`.
    public static func snapshotEntityName(container: String, snapshot: String) -> String {
        container + "/" + snapshot
    }
}

extension OperationRecord {
    /// The container and snapshot a `snapshot` entity names (`container/snapshot`); nil when the name
    /// does not have two non-empty parts (split as recovery has always split it).
    public var snapshotTarget: (container: String, snapshot: String)? {
        let parts = entityName.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return nil }
        return (parts[0], parts[1])
    }
}
