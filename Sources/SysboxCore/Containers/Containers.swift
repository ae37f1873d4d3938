import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

struct Containers: StateBound {
    let state: State

    /// Creates a container: validates the name, image reference, config, devices and profiles, checks
    /// that the expansion has exactly one root disk, finds (or builds) the image, records the container
    /// with a fresh `volatile.uuid` and `volatile.base_image`, and makes its storage. The operation is
    /// journalled: a create killed half-way is undone by the next command.
    /// - Throws: `SysboxError`: `.invalidArgument`, `.notFound` (a profile, the image), `.alreadyExists`.
    @discardableResult
    /// `checked` runs once the request passed every check that needs no image (name, config, devices,
    /// profiles, the host), before an image is built: a CLI says "Creating NAME" there, never for input
    /// it then refuses.
    public func createContainer(_ request: CreateRequest, progress: (String) -> Void = { _ in }, checked: () -> Void = {}) throws -> ContainerView {
        try Names.validate(request.name, as: .container)
        try Names.validateDescription(request.description, of: "container \(request.name)")
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
        // Everything that can be checked without the image first, so bad input never builds one.
        let check = { (db: Database) throws -> [ProfileRecord] in
            if try ContainerRecord.named(request.name, in: db) != nil {
                throw SysboxError(.alreadyExists, "container \(request.name) already exists; pick another name, or remove it first with: sysbox delete \(request.name)")
            }
            let profiles = try profileNames.map { try self.profile(db, $0) }
            // Its own NICs (create -d) must name networks that exist, as config device add checks.
            try self.nics.checkNICNetworks(db, devices: request.devices)
            try self.validateExpanded(
                try self.expanded(db, profiles: profiles, local: ConfigLayer(config: request.config, devices: request.devices)),
                container: request.name)
            return profiles
        }
        _ = try read(check)
        try configEditor.checkAgainstHost(old: ConfigLayer(), new: ConfigLayer(config: request.config, devices: request.devices))
        checked()
        let driver = try storageDriver()  // a bad driver name fails before any image is built
        let image = try images.resolveImage(request.image, progress: progress)
        let p = paths(request.name)
        // Under the container's lock until its storage exists: a start or delete of the same name
        // waits for the create to finish instead of meeting half of it.
        try withLock(request.name) {
            let op = try write { db -> OperationRecord in
                let profiles = try check(db)
                var config = request.config
                config["volatile.uuid"] = UUID().uuidString.lowercased()
                config["volatile.base_image"] = image.fingerprint
                var record = ContainerRecord(
                    name: request.name, image: request.image, description: request.description,
                    ephemeral: request.ephemeral)
                try record.insert(db)
                let id = try record.requireID()
                try ConfigTable.containers.replace(db, owner: id, with: config)
                try DeviceTable.containers.replace(db, owner: id, with: request.devices)
                try ContainerProfiles.replace(db, container: id, profiles: try profiles.map { try $0.requireID() })
                try ImageRecord.markUsed(fingerprint: image.fingerprint, in: db)
                return try Journal.begin(db, CreatePayload(start: Host.startTime(of: getpid()) ?? 0), entityName: request.name)
            }
            do {
                // The record was just inserted, so a directory already there belongs to no container
                // (left by a crash): replace it.
                if FileManager.default.fileExists(atPath: p.directory) { try Host.removeTree(p.directory) }
                try FileManager.default.createDirectory(atPath: p.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try driver.create(container: p, image: image)
                try write { db in try Journal.finish(db, uuid: op.uuid, as: .done) }
            } catch {
                try? Host.removeTree(p.directory)
                try? write { db in
                    _ = try ContainerRecord.filter(Column("name") == request.name).deleteAll(db)
                    try Journal.finish(db, uuid: op.uuid, as: .failed)
                }
                throw error
            }
        }
        return try containerView(request.name)
    }

    /// Deletes containers with their storage, config, snapshots and leases. Every name is checked first
    /// (exists; stopped unless `force`), so a refusal deletes nothing; with `force` running ones are
    /// killed first.
    public func deleteContainers(_ names: [String], force: Bool = false) throws {
        for name in names { try Names.validate(name, as: .container) }
        try read { db in for name in names { _ = try container(db, name) } }
        if !force, let running = names.first(where: { runtime.runtimeStatus($0).0 != .stopped }) {
            throw SysboxError(.conflict, "container \(running) is running; stop it first (sysbox stop \(running)) or use --force")
        }
        for name in names {
            try withLock(name) {
                runtime.waitWhileBusy(name)
                if runtime.liveState(name) != nil {
                    guard force else { throw SysboxError(.conflict, "container \(name) is running; stop it first (sysbox stop \(name)) or use --force") }
                    try runtime.stopLocked(name, force: true, timeout: 10)
                }
                runtime.cleanupStale(name)
                guard runtime.liveState(name) == nil else { throw SysboxError(.conflict, "container \(name) is still running; retry") }
                try deleteStoppedContainer(name)
            }
        }
    }

    /// Checks every name (valid, exists, not given twice) before a command acts on any of them.
    public func checkContainersExist(_ names: [String]) throws {
        var seen = Set<String>()
        for name in names {
            try Names.validate(name, as: .container)
            guard seen.insert(name).inserted else { throw SysboxError.invalid("container \(name) is given twice") }
        }
        try read { db in for name in names { _ = try container(db, name) } }
    }

    /// One container with its expansion.
    public func containerView(_ name: String) throws -> ContainerView {
        try Names.validate(name, as: .container)
        return try read { db in try view(db, try container(db, name)) }
    }

    /// All containers, sorted by name.
    ///
    /// A fixed number of queries whatever the number of containers (each table read once, each
    /// profile's layer built once), then each container's status from its pid files.
    public func listContainers() throws -> [ContainerView] {
        try read { db in
            let records = try ContainerRecord.order(Column("name")).fetchAll(db)
            let configs = try ConfigTable.containers.loadAll(db), devices = try DeviceTable.containers.loadAll(db)
            let profileLists = try ContainerProfiles.loadAll(db)
            let profileConfigs = try ConfigTable.profiles.loadAll(db), profileDevices = try DeviceTable.profiles.loadAll(db)
            let snapshots = try SnapshotRecord.countsByContainer(in: db)
            let leases = try IPv4LeaseRecord.byContainer(in: db).mapValues { $0.map(NICs.leaseText) }
            return try records.map { record in
                let id = try record.requireID()
                let profiles = profileLists[id] ?? []
                let profileLayers = try profiles.map { p in
                    ConfigLayer(config: profileConfigs[try p.requireID()] ?? [:], devices: profileDevices[try p.requireID()] ?? [:])
                }
                return makeView(
                    record, profiles: profiles, local: ConfigLayer(config: configs[id] ?? [:], devices: devices[id] ?? [:]),
                    profileLayers: profileLayers, snapshots: snapshots[id] ?? 0, leases: { leases[id] ?? [] })
            }
        }
    }

    /// The names of all containers, sorted (one query; no status).
    public func containerNames() throws -> [String] {
        try read { db in try ContainerRecord.allNames(in: db) }
    }

    func view(_ db: Database, _ record: ContainerRecord) throws -> ContainerView {
        let id = try record.requireID()
        let profiles = try ContainerProfiles.load(db, container: id)
        let snapshots = try SnapshotRecord.count(container: id, in: db)
        return try makeView(
            record, profiles: profiles, local: try layer(db, container: id),
            profileLayers: try profiles.map { try layer(db, profile: try $0.requireID()) },
            snapshots: snapshots, leases: { try nics.leasedAddresses(db, container: id) })
    }

    /// One container's view from its database rows; its status is the kernel's truth (init alive, by
    /// pid and start time), not the state of record, and addresses are shown while it runs.
    private func makeView(
        _ record: ContainerRecord, profiles: [ProfileRecord], local: ConfigLayer, profileLayers: [ConfigLayer],
        snapshots: Int, leases: () throws -> [String]
    ) rethrows -> ContainerView {
        let (status, pid) = runtime.runtimeStatus(record.name)
        return ContainerView(
            record: record, profiles: profiles.map(\.name), local: local,
            expanded: Expansion.expand(profiles: profileLayers, local: local),
            snapshots: snapshots, status: status, pid: pid,
            ipv4: status.isLive ? try leases() : [])
    }

    /// Replaces a container's profile list (order = apply order); the expansion must stay valid.
    /// Returns a note when the container runs and the change touches what only a start applies
    /// (`PendingChange`).
    @discardableResult
    public func assignProfiles(container name: String, profiles names: [String]) throws -> [String] {
        try Names.validate(name, as: .container)
        var seen = Set<String>()
        for p in names {
            try Names.validate(p, as: .profile)
            guard seen.insert(p).inserted else { throw SysboxError.invalid("profile \(p) is given twice; list each profile once") }
        }
        defer { try? execs.writeExecCache(name) }
        let pending = try write { db -> [String] in
            let before = try liveConfig.liveLimits(db, affectedBy: .container(name))
            let record = try container(db, name)
            let profiles = try names.map { try profile(db, $0) }
            let local = try layer(db, container: try record.requireID())
            let result = try expanded(db, profiles: profiles, local: local)
            let previousLayer = try expanded(db, profiles: try ContainerProfiles.load(db, container: try record.requireID()), local: local)
            let previous = previousLayer.devices
            try validateExpanded(result, container: name)
            try nics.checkStaticAddresses(db, container: record.id, devices: result.devices.filter { previous[$0.key] != $0.value })
            try ContainerProfiles.replace(db, container: try record.requireID(), profiles: try profiles.map { try $0.requireID() })
            try liveConfig.applyLiveLimits(db, before: before)
            return runtime.liveState(name) == nil ? [] : PendingChange.what(before: previousLayer, after: result)
        }
        return PendingChange.note([(name, pending)]).map { [$0] } ?? []
    }

    /// The profile names applied to a container, in order.
    public func profiles(of name: String) throws -> [String] {
        try containerView(name).profiles
    }
}

extension Containers {
    /// Removes a stopped container's storage and record (used by delete and by ephemeral containers).
    func deleteStoppedContainer(_ name: String) throws {
        let driver = try storageDriver()
        let op = try write { db -> OperationRecord? in
            // Already gone (an ephemeral container deleted by its monitor as it stopped): done.
            guard try ContainerRecord.named(name, in: db) != nil else { return nil }
            return try Journal.begin(db, DeletePayload(start: Host.startTime(of: getpid()) ?? 0), entityName: name)
        }
        guard let op else { return }
        try driver.delete(container: paths(name))
        let networks = try write { db -> Set<String> in
            let networks = try ContainerRecord.named(name, in: db).map { try nics.leasedNetworks(db, container: try $0.requireID()) } ?? []
            _ = try ContainerRecord.filter(Column("name") == name).deleteAll(db)
            try Journal.finish(db, uuid: op.uuid, as: .done)
            return networks
        }
        self.networks.syncDNS(networks)
    }
}
