import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// A snapshot as `snapshot list` shows it.
public struct SnapshotEntry: Encodable, Sendable, Equatable {
    public var name: String
    public var createdAt: Date
    public var expiresAt: Date?
    /// Bytes of its copy of the container's data.
    public var size: UInt64

    enum CodingKeys: String, CodingKey {
        case name, size
        case createdAt = "created_at", expiresAt = "expires_at"
    }
}

/// What `createSnapshot` did: the snapshot's name, and whether it replaced one of the same name
/// (`--reuse`).
public struct TakenSnapshot: Sendable, Equatable {
    public var name: String
    public var replaced: Bool
}

/// The description that marks snapshots taken by `schedule run` (retention only ever deletes those,
/// those taken at startup, and expired ones).
public let scheduledSnapshotDescription = "taken by the schedule"
/// The description of snapshots taken by `start` for `snapshots.schedule` `@startup`.
public let startupSnapshotDescription = "taken at startup"

/// A snapshot `snapshot prune` or `schedule run` deleted, and why.
public struct PrunedSnapshot: Sendable, Equatable {
    public enum Reason: Sendable, Equatable {
        case expired
        /// Beyond the newest `keep` scheduled snapshots (`snapshots.keep.last`).
        case retention(keep: Int)
    }

    public var container: String
    public var snapshot: String
    public var reason: Reason

    /// `Snapshot snap0 of c1 deleted (expired)`: the style of `snapshot delete`, with the reason.
    public var line: String {
        let why: String
        switch reason {
        case .expired: why = "expired"
        case let .retention(keep): why = "snapshots.keep.last=\(keep)"
        }
        return "Snapshot \(snapshot) of \(container) deleted (\(why))"
    }
}
