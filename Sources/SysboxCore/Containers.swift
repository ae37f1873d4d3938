import Foundation
import GRDB
import SysboxStore

/// What `list` and `info` show of a container.
public enum ContainerStatus: String, Sendable, Codable {
    case running = "Running", stopped = "Stopped", frozen = "Frozen", error = "Error"
}

/// A container as the CLI shows it: its record, own and expanded settings, and live state.
public struct ContainerView: Sendable {
    public var record: ContainerRecord
    public var profiles: [String]
    public var local: ConfigLayer
    public var expanded: ConfigLayer
    public var snapshots: Int
    public var status: ContainerStatus
    public var pid: Int32?
    public var ipv4: [String]

    public var name: String { record.name }
}

/// What `sysbox create` asks for.
public struct CreateRequest: Sendable {
    public var name: String
    public var image: String
    /// nil: the `default` profile; []: no profiles.
    public var profiles: [String]?
    public var config: [String: String]
    public var devices: DeviceMap
    public var ephemeral: Bool
    public var description: String

    public init(name: String, image: String, profiles: [String]? = nil, config: [String: String] = [:],
                devices: DeviceMap = [:], ephemeral: Bool = false, description: String = "") {
        self.name = name
        self.image = image
        self.profiles = profiles
        self.config = config
        self.devices = devices
        self.ephemeral = ephemeral
        self.description = description
    }
}

/// Image references (`debian`, `debian/12`, a fingerprint prefix) as written on the command line.
public enum ImageReference {
    /// Checks the form of an image reference: 1–128 characters, letters, digits, `.`, `_`, `-` and `/`
    /// separating non-empty parts, no `..`.
    public static func validate(_ ref: String) throws {
        let parts = ref.split(separator: "/", omittingEmptySubsequences: false)
        let ok = !ref.isEmpty && ref.count <= 128
            && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } }
        if !ok {
            throw SysboxError.invalid("invalid image name \(Names.quote(ref)): use an alias like debian or debian/12 (letters, digits, '.', '_', '-', parts separated by '/')")
        }
    }
}

extension Manager {
    /// Records a new container: validates the name, image reference, config, devices and profiles,
    /// checks that the expansion has exactly one root disk, and inserts everything in one transaction
    /// with a fresh `volatile.uuid`. Nothing else is prepared (the runtime does that at start).
    /// - Throws: `SysboxError`: `.invalidArgument`, `.notFound` (a profile), `.alreadyExists`.
    @discardableResult
    public func createContainer(_ request: CreateRequest) throws -> ContainerView {
        try Names.validate(request.name, as: .container)
        try ImageReference.validate(request.image)
        for (key, value) in request.config.sorted(by: { $0.key < $1.key }) {
            try InstanceConfig.validate(key, value, writer: .user)
        }
        for (name, device) in request.devices.sorted(by: { $0.key < $1.key }) {
            try Devices.validate(name: name, device)
        }
        let profileNames = request.profiles ?? ["default"]
        var seen = Set<String>()
        for name in profileNames {
            try Names.validate(name, as: .profile)
            guard seen.insert(name).inserted else {
                throw SysboxError.invalid("profile \(name) is given twice; list each profile once")
            }
        }
        try write { db in
            if try ContainerRecord.named(request.name, in: db) != nil {
                throw SysboxError(.alreadyExists, "container \(request.name) already exists; pick another name, or remove it first with: sysbox delete \(request.name)")
            }
            let profiles = try profileNames.map { try profile(db, $0) }
            var config = request.config
            config["volatile.uuid"] = UUID().uuidString.lowercased()
            let local = ConfigLayer(config: config, devices: request.devices)
            try validateExpanded(try expanded(db, profiles: profiles, local: local), container: request.name)
            var record = ContainerRecord(name: request.name, image: request.image, description: request.description,
                                         ephemeral: request.ephemeral)
            try record.insert(db)
            let id = record.id ?? 0
            try ConfigTable.containers.replace(db, owner: id, with: local.config)
            try DeviceTable.containers.replace(db, owner: id, with: local.devices)
            try ContainerProfiles.replace(db, container: id, profiles: profiles.compactMap(\.id))
        }
        return try containerView(request.name)
    }

    /// Removes containers' records with their config, devices, snapshots and leases, all or none: every
    /// name is checked before any is removed.
    /// - Throws: `.notFound` naming the first missing container.
    public func deleteContainers(_ names: [String]) throws {
        for name in names { try Names.validate(name, as: .container) }
        try write { db in
            let records = try names.map { try container(db, $0) }
            for record in records { _ = try record.delete(db) }
        }
    }

    /// One container with its expansion.
    public func containerView(_ name: String) throws -> ContainerView {
        try Names.validate(name, as: .container)
        return try read { db in try view(db, try container(db, name)) }
    }

    /// All containers, sorted by name.
    public func listContainers() throws -> [ContainerView] {
        try read { db in
            try ContainerRecord.order(Column("name")).fetchAll(db).map { try view(db, $0) }
        }
    }

    func view(_ db: Database, _ record: ContainerRecord) throws -> ContainerView {
        let id = record.id ?? 0
        let profiles = try ContainerProfiles.load(db, container: id)
        let local = try layer(db, container: id)
        let snapshots = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM snapshots WHERE container_id = ?", arguments: [id]) ?? 0
        // No runtime yet: the state of record is all there is. The runtime replaces this with the
        // kernel's truth (live monitor and init).
        let status: ContainerStatus = record.powerState == "running" ? .running : .stopped
        return ContainerView(record: record, profiles: profiles.map(\.name), local: local,
                             expanded: try expanded(db, profiles: profiles, local: local),
                             snapshots: snapshots, status: status, pid: nil, ipv4: [])
    }

    /// Replaces a container's profile list (order = apply order); the expansion must stay valid.
    public func assignProfiles(container name: String, profiles names: [String]) throws {
        try Names.validate(name, as: .container)
        var seen = Set<String>()
        for p in names {
            try Names.validate(p, as: .profile)
            guard seen.insert(p).inserted else { throw SysboxError.invalid("profile \(p) is given twice; list each profile once") }
        }
        try write { db in
            let record = try container(db, name)
            let profiles = try names.map { try profile(db, $0) }
            try validateExpanded(try expanded(db, profiles: profiles, local: try layer(db, container: record.id ?? 0)), container: name)
            try ContainerProfiles.replace(db, container: record.id ?? 0, profiles: profiles.compactMap(\.id))
        }
    }

    /// The profile names applied to a container, in order.
    public func profiles(of name: String) throws -> [String] {
        try containerView(name).profiles
    }
}
