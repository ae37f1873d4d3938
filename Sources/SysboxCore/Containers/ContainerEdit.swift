import Foundation
import GRDB
import SysboxStore

extension Containers {
    /// A container's own description, config and devices in the exchange format of profiles (what
    /// `config edit` shows): its `volatile.*` keys are left out (sysbox's own state, kept as they are).
    public func containerDocument(_ name: String) throws -> ProfileDocument {
        try Names.validate(name, as: .container)
        return try read { db in
            let record = try container(db, name)
            let local = try layer(db, container: try record.requireID())
            return ProfileDocument(
                description: record.description, config: local.config.filter { !$0.key.hasPrefix("volatile.") }, devices: local.devices)
        }
    }

    /// Replaces a container's own description, config and devices with `doc` (its `volatile.*` keys
    /// stay), checked whole as `config set` and `config device add` check one change: the expansion
    /// must stay valid, disk sources and `limits.cpu` must fit this host, static addresses must be free.
    /// A refused document changes nothing. Returns a note when the container runs and the change
    /// touches what only a start applies (`PendingChange`).
    /// Sets the container's description (`config set NAME --property description=…`, LXD's).
    /// - Throws: `SysboxError(.invalidArgument)` for a description with control characters or too long;
    ///   `.notFound` for no such container.
    public func setContainerDescription(_ name: String, _ description: String) throws {
        try Names.validate(name, as: .container)
        try Names.validateDescription(description, of: "container \(name)")
        try write { db in
            var record = try container(db, name)
            record.description = description
            try record.update(db)
        }
    }

    @discardableResult
    public func updateContainer(_ name: String, _ doc: ProfileDocument) throws -> [String] {
        try Names.validate(name, as: .container)
        try Names.validateDescription(doc.description, of: "container \(name)")
        for (key, value) in doc.layer.config.sorted(by: { $0.key < $1.key }) { try InstanceConfig.validate(key, value, writer: .user) }
        let before = try read { db in try view(db, try container(db, name)).expanded }
        try configEditor.edit(.container(name)) { layer, _ in
            layer.config = layer.config.filter { $0.key.hasPrefix("volatile.") }.merging(doc.layer.config) { _, new in new }
            layer.devices = doc.layer.devices
        }
        try write { db in
            var record = try container(db, name)
            guard record.description != doc.description else { return }
            record.description = doc.description
            try record.update(db)
        }
        guard runtime.liveState(name) != nil else { return [] }
        let after = try read { db in try view(db, try container(db, name)).expanded }
        return PendingChange.note([(name, PendingChange.what(before: before, after: after))]).map { [$0] } ?? []
    }
}
