import Foundation
import GRDB
import SysboxStore

/// A profile as `profile list` shows it.
public struct ProfileSummary: Sendable {
    public var name: String
    public var description: String
    public var usedBy: [String]
}

struct Profiles: StateBound {
    let state: State

    /// The settings key marking that the shipped profiles were imported (once, at first use).
    static let seededKey = "profiles.seeded"

    /// Imports the shipped profiles the first time a state directory is used, and records its default
    /// network: `SYSBOX_DEFAULT_NETWORK` when set (the shipped profiles' NICs on sysboxbr0 then use it),
    /// else sysboxbr0. Later runs change neither.
    /// - Throws: `SysboxError(.invalidArgument)` for a `SYSBOX_DEFAULT_NETWORK` that is not a valid
    ///   network name (nothing is imported then).
    func seedShipped(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        if try read({ db in try Settings.get(db, Self.seededKey) }) != nil { return }
        let network = environment["SYSBOX_DEFAULT_NETWORK"].flatMap { $0.isEmpty ? nil : $0 } ?? Networks.standardDefaultNetwork
        if let problem = Names.problem(network, as: .network) {
            throw SysboxError.invalid("SYSBOX_DEFAULT_NETWORK \(Names.quote(network)) is not a valid network name: \(problem)")
        }
        let files = try shippedProfiles()
        try write { db in
            if try Settings.get(db, Self.seededKey) != nil { return }  // another process won the race
            for (name, doc) in files where try ProfileRecord.named(name, in: db) == nil {
                var record = ProfileRecord(name: name, description: doc.description)
                try record.insert(db)
                var devices = doc.layer.devices
                for (device, d) in devices where d["type"] == "nic" && d["network"] == Networks.standardDefaultNetwork {
                    devices[device]?["network"] = network
                }
                try ConfigTable.profiles.replace(db, owner: try record.requireID(), with: doc.layer.config)
                try DeviceTable.profiles.replace(db, owner: try record.requireID(), with: devices)
            }
            try Settings.set(db, Networks.defaultNetworkKey, network)
            try Settings.set(db, Self.seededKey, ISO8601DateFormatter().string(from: Date()))
            Self.logger.debug("imported shipped profiles", metadata: ["count": "\(files.count)"])
        }
    }

    /// Parses `Profiles/*.yaml` of the data directory; `default.yaml` must be among them.
    func shippedProfiles() throws -> [(String, ProfileDocument)] {
        guard let dataDirectory else {
            throw SysboxError(
                .io,
                "cannot find sysbox's shipped files (Profiles/, Templates/): looked next to the binary and in PREFIX/share/sysbox; set SYSBOX_DATA_DIR to the directory that holds Profiles/"
            )
        }
        let dir = (dataDirectory as NSString).appendingPathComponent("Profiles")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        guard names.contains("default.yaml") else {
            throw SysboxError(.io, "\(dir)/default.yaml is missing; it defines the default profile (root disk and eth0); restore it or set SYSBOX_DATA_DIR")
        }
        return try names.map { file in
            let path = (dir as NSString).appendingPathComponent(file)
            let name = String(file.dropLast(".yaml".count))
            try Names.validate(name, as: .profile)
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw SysboxError(.io, "cannot read \(path): \(error.localizedDescription)", cause: error)
            }
            return (name, try ProfileYAML.parse(text, file: path))
        }
    }

    /// The profile that always exists: applied when `create` gets no `-p`; never deleted or renamed.
    public static let defaultProfile = "default"

    /// All profiles with the containers that use them, sorted by name.
    public func listProfiles() throws -> [ProfileSummary] {
        try read { db in
            try ProfileRecord.order(Column("name")).fetchAll(db).map {
                ProfileSummary(name: $0.name, description: $0.description, usedBy: try ContainerProfiles.users(db, profile: try $0.requireID()))
            }
        }
    }

    /// A profile in its exchange format.
    public func profileDocument(_ name: String) throws -> ProfileDocument {
        try Names.validate(name, as: .profile)
        return try read { db in
            let record = try profile(db, name)
            let l = try layer(db, profile: try record.requireID())
            return ProfileDocument(description: record.description, config: l.config, devices: l.devices)
        }
    }

    /// Creates a profile from a (parsed, validated) document.
    /// - Throws: `.alreadyExists`, `.invalidArgument`.
    public func createProfile(_ name: String, _ doc: ProfileDocument) throws {
        try Names.validate(name, as: .profile)
        try Names.validateDescription(doc.description, of: "profile \(name)")
        try write { db in
            if try ProfileRecord.named(name, in: db) != nil {
                throw SysboxError(.alreadyExists, "profile \(name) already exists; change it with: sysbox profile edit \(name)")
            }
            var record = ProfileRecord(name: name, description: doc.description)
            try record.insert(db)
            try ConfigTable.profiles.replace(db, owner: try record.requireID(), with: doc.layer.config)
            try DeviceTable.profiles.replace(db, owner: try record.requireID(), with: doc.layer.devices)
        }
    }

    /// Replaces a profile's description, config and devices; every container using it must stay valid.
    /// Returns a note when running containers using the profile get a change that only a start
    /// applies (`PendingChange`).
    @discardableResult
    public func updateProfile(_ name: String, _ doc: ProfileDocument) throws -> [String] {
        try Names.validate(name, as: .profile)
        try Names.validateDescription(doc.description, of: "profile \(name)")
        var affected: [String] = []
        defer { for user in affected { try? execs.writeExecCache(user) } }
        let pending = try write { db -> [(container: String, what: [String])] in
            let before = try liveConfig.liveLimits(db, affectedBy: .profile(name))
            affected = before.map(\.0)
            var record = try profile(db, name)
            try configEditor.validateProfileChange(db, profile: record, layer: doc.layer)
            // The running users' expansions before and after (before: the same list as `before`).
            let running = try affected.map { user in (user, try containers.view(db, try container(db, user)).expanded) }
            record.description = doc.description
            try record.update(db)
            try ConfigTable.profiles.replace(db, owner: try record.requireID(), with: doc.layer.config)
            try DeviceTable.profiles.replace(db, owner: try record.requireID(), with: doc.layer.devices)
            try liveConfig.applyLiveLimits(db, before: before)
            return try running.map { user, old in
                (user, PendingChange.what(before: old, after: try containers.view(db, try container(db, user)).expanded))
            }
        }
        return PendingChange.note(pending).map { [$0] } ?? []
    }

    /// Deletes a profile. `default` and profiles in use are refused (the error lists the users).
    public func deleteProfile(_ name: String) throws {
        try deleteProfiles([name])
    }

    /// Deletes profiles, all or none: every name is checked first (valid, given once, not `default`,
    /// existing, used by no container and no snapshot), then all are deleted in one transaction.
    /// - Throws: `.invalidArgument` (bad name, given twice, `default`), `.notFound`, `.inUse` (naming the
    ///   containers or snapshots and a command that frees the profile).
    public func deleteProfiles(_ names: [String]) throws {
        guard !names.isEmpty else { throw SysboxError.invalid("nothing to delete: give a profile name") }
        for name in names { try Names.validate(name, as: .profile) }
        try refuseDuplicates(names, what: "profile")
        if names.contains(Self.defaultProfile) {
            throw SysboxError.invalid("the default profile cannot be deleted; empty it with sysbox profile edit default instead")
        }
        try write { db in
            let records = try names.map { try profile(db, $0) }
            for record in records {
                let users = try ContainerProfiles.users(db, profile: try record.requireID())
                guard let first = users.first else { continue }
                let command = "sysbox profile remove \(first) \(record.name)"
                let fix = users.count == 1 ? "remove it from \(first) first: \(command)" : "remove it from each first, e.g. \(command)"
                throw SysboxError(.inUse, "profile \(record.name) is used by \(users.count) container\(users.count == 1 ? "" : "s"): \(users.joined(separator: ", ")); \(fix)")
            }
            // Snapshots carry their profile list (restored with them): a profile one needs stays.
            for record in records {
                let snapshots = try SnapshotProfiles.users(db, profile: record.name)
                guard let first = snapshots.first else { continue }
                let listed = snapshots.map { "\($0.container)/\($0.snapshot)" }.joined(separator: ", ")
                let command = "sysbox snapshot delete \(first.container) \(first.snapshot)"
                let fix = snapshots.count == 1 ? "delete it first: \(command)" : "delete them first, e.g. \(command)"
                throw SysboxError(.inUse, "profile \(record.name) is used by \(snapshots.count) snapshot\(snapshots.count == 1 ? "" : "s") (restoring needs it): \(listed); \(fix)")
            }
            for record in records { _ = try record.delete(db) }
        }
    }

    /// Copies profile `source` to a new profile `target`.
    public func copyProfile(_ source: String, to target: String) throws {
        try Names.validate(source, as: .profile)
        try Names.validate(target, as: .profile)
        try write { db in
            let record = try profile(db, source)
            if try ProfileRecord.named(target, in: db) != nil {
                throw SysboxError(.alreadyExists, "profile \(target) already exists; pick another name")
            }
            let l = try layer(db, profile: try record.requireID())
            var copy = ProfileRecord(name: target, description: record.description)
            try copy.insert(db)
            let id = try copy.requireID()
            try ConfigTable.profiles.replace(db, owner: id, with: l.config)
            try DeviceTable.profiles.replace(db, owner: id, with: l.devices)
        }
    }

    /// Renames a profile (containers and snapshots keep using it under the new name). `default` is refused.
    public func renameProfile(_ source: String, to target: String) throws {
        try Names.validate(source, as: .profile)
        try Names.validate(target, as: .profile)
        if source == Self.defaultProfile {
            throw SysboxError.invalid("the default profile cannot be renamed; copy it instead: sysbox profile copy default \(target)")
        }
        if target == Self.defaultProfile {
            throw SysboxError(.alreadyExists, "profile default already exists; pick another name")
        }
        try write { db in
            var record = try profile(db, source)
            if try ProfileRecord.named(target, in: db) != nil {
                throw SysboxError(.alreadyExists, "profile \(target) already exists; pick another name")
            }
            record.name = target
            try record.update(db)
            // Snapshots name their profiles: they follow the rename, as the containers do.
            try SnapshotProfiles.renameProfile(db, from: source, to: target)
        }
    }

    /// Sets a profile's description.
    public func setProfileDescription(_ name: String, _ description: String) throws {
        try Names.validate(name, as: .profile)
        try Names.validateDescription(description, of: "profile \(name)")
        try write { db in
            var record = try profile(db, name)
            record.description = description
            try record.update(db)
        }
    }
}
