import Foundation
import GRDB
import SysboxStore

/// What `sysbox copy` asks for.
public struct CopyRequest: Sendable {
    public var source: String
    /// Copy from this snapshot of the source instead of its current state.
    public var snapshot: String?
    public var target: String
    /// Without the source's snapshots.
    public var instanceOnly: Bool
    /// Keys set on the copy (win over the source's).
    public var config: [String: String]
    /// The copy's profile list (nil: the source's).
    public var profiles: [String]?

    public init(
        source: String, snapshot: String? = nil, target: String, instanceOnly: Bool = false,
        config: [String: String] = [:], profiles: [String]? = nil
    ) {
        self.source = source
        self.snapshot = snapshot
        self.target = target
        self.instanceOnly = instanceOnly
        self.config = config
        self.profiles = profiles
    }
}
