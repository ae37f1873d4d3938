import Foundation
import GRDB
import SysboxStore

struct Copies: StateBound {
    let state: State

    /// What a copy takes from its source, read in one transaction.
    struct Plan {
        var source: ContainerRecord
        /// The copy's own config and devices: the source's (or the snapshot's) with a fresh identity.
        var layer: ConfigLayer
        var profiles: [ProfileRecord]
        /// The source's snapshots that are copied along.
        var snapshots: [SnapshotRecord]
        /// The copy's own NIC devices whose static `ipv4.address` was left out (device → address).
        var clearedAddresses: [(device: String, address: String)] = []
    }

    /// The copy's own NICs with a static `ipv4.address` lose it: the source holds that address, so the
    /// copy could not start with it. Returns the devices and addresses left out, by device name.
    static func clearStaticAddresses(_ devices: inout DeviceMap) -> [(device: String, address: String)] {
        var cleared: [(device: String, address: String)] = []
        for (name, device) in NICs.nicDevices(devices) {
            guard let address = device["ipv4.address"] else { continue }
            devices[name]?["ipv4.address"] = nil
            cleared.append((name, address))
        }
        return cleared
    }

    /// Copies a container (or one of its snapshots) to a new stopped container: its own files (a
    /// `cp -a --reflink=auto` of the data directory; the source is frozen meanwhile if it runs), its
    /// config and devices with a fresh identity (new `volatile.uuid`, so a new machine-id; no MACs or
    /// host interface names, so new ones at its first start; addresses are leased then), and, unless
    /// `instanceOnly`, its snapshots. Journalled as a create: a copy killed half-way is undone.
    /// The static `ipv4.address` of the copy's own NICs (and of its copied snapshots' NICs) is left out,
    /// since the source holds it: returns one line per such device saying so.
    @discardableResult
    public func copyContainer(_ request: CopyRequest) throws -> [String] {
        try validate(request)
        let driver = try storageDriver()
        let dst = paths(request.target)
        // Both locked, in a fixed order (a copy the other way cannot deadlock with this one).
        let (first, second) = request.source < request.target ? (request.source, request.target) : (request.target, request.source)
        return try withLock(first) {
            try withLock(second) { () throws -> [String] in
                let plan = try read { db in try makePlan(db, request) }
                guard !FileManager.default.fileExists(atPath: dst.directory) else {
                    throw SysboxError(.alreadyExists, "\(dst.directory) exists without a container record; move it away first")
                }
                let running = request.snapshot == nil && runtime.liveState(request.source) != nil
                let op = try write { db in try record(db, request, plan, frozen: running) }
                CrashPoint.reach("copy-journalled")
                do {
                    try copyFiles(request, plan, driver: driver, running: running)
                    try write { db in
                        try recordSnapshots(db, of: try container(db, request.target), plan.snapshots)
                        try Journal.finish(db, uuid: op.uuid, as: .done)
                    }
                    CrashPoint.reach("copy-finished")
                    return plan.clearedAddresses.map { d, address in
                        "device \(d) of \(request.target): the static ipv4.address \(address) is not copied (\(request.source) holds it); \(request.target) gets a free address at its first start, or give one with: sysbox config device set \(request.target) \(d) ipv4.address=ADDRESS"
                    }
                } catch {
                    try? Host.removeTree(dst.directory)
                    try? write { db in
                        _ = try ContainerRecord.filter(Column("name") == request.target).deleteAll(db)
                        try Journal.finish(db, uuid: op.uuid, as: .failed)
                    }
                    throw error
                }
            }
        }
    }

    /// Checks the names and config of a copy before anything is locked or read.
    private func validate(_ request: CopyRequest) throws {
        try Names.validate(request.source, as: .container)
        try Names.validate(request.target, as: .container)
        if let snap = request.snapshot { try Names.validate(snap, as: .snapshot) }
        for (key, value) in request.config.sorted(by: { $0.key < $1.key }) { try InstanceConfig.validate(key, value, writer: .user) }
        guard request.source != request.target else { throw SysboxError.invalid("the copy needs another name than \(request.source)") }
        // Checked against this host as `create` does (a CPU count or set the host does not have).
        try configEditor.checkAgainstHost(old: ConfigLayer(), new: ConfigLayer(config: request.config, devices: [:]))
    }

    /// What the copy takes from its source (or the snapshot), validated as the new container's expansion.
    private func makePlan(_ db: Database, _ request: CopyRequest) throws -> Plan {
        let source = try container(db, request.source)
        if try ContainerRecord.named(request.target, in: db) != nil {
            throw SysboxError(.alreadyExists, "container \(request.target) already exists; pick another name")
        }
        var layer: ConfigLayer
        var profiles: [ProfileRecord]
        if let snap = request.snapshot {
            let s = try snapshots.snapshotRecord(db, container: source, snap)
            let id = try s.requireID()
            layer = ConfigLayer(config: try ConfigTable.snapshots.load(db, owner: id), devices: try DeviceTable.snapshots.load(db, owner: id))
            profiles = request.profiles != nil ? [] : try snapshots.snapshotProfiles(db, s, of: request.source)
        } else {
            let id = try source.requireID()
            layer = try self.layer(db, container: id)
            profiles = try ContainerProfiles.load(db, container: id)
        }
        if let names = request.profiles { profiles = try names.map { try profile(db, $0) } }
        // A fresh identity: only the base image stays of the volatile keys.
        layer.config = layer.config.filter { !$0.key.hasPrefix("volatile.") || $0.key == "volatile.base_image" }
        layer.config.merge(request.config) { _, new in new }
        let cleared = Self.clearStaticAddresses(&layer.devices)
        try validateExpanded(try expanded(db, profiles: profiles, local: layer), container: request.target)
        let copied =
            request.instanceOnly || request.snapshot != nil
            ? []
            : try SnapshotRecord.filter(Column("container_id") == source.requireID()).order(Column("created_at"), Column("id")).fetchAll(db)
        return Plan(source: source, layer: layer, profiles: profiles, snapshots: copied, clearedAddresses: cleared)
    }

    /// Inserts the new container's record, config, devices and profiles and journals the copy as a
    /// create; `frozen`: the running source that recovery thaws if this process dies while it is frozen.
    private func record(_ db: Database, _ request: CopyRequest, _ plan: Plan, frozen: Bool) throws -> OperationRecord {
        var record = ContainerRecord(name: request.target, image: plan.source.image, description: plan.source.description)
        try record.insert(db)
        var config = plan.layer.config
        config["volatile.uuid"] = UUID().uuidString.lowercased()
        let id = try record.requireID()
        try ConfigTable.containers.replace(db, owner: id, with: config)
        try DeviceTable.containers.replace(db, owner: id, with: plan.layer.devices)
        try ContainerProfiles.replace(db, container: id, profiles: try plan.profiles.map { try $0.requireID() })
        return try Journal.begin(
            db, CreatePayload(start: Host.startTime(of: getpid()) ?? 0, frozen: frozen ? request.source : nil),
            entityName: request.target)
    }

    /// Copies the data directory (the source frozen meanwhile when it runs) and each snapshot's data.
    private func copyFiles(_ request: CopyRequest, _ plan: Plan, driver: StorageDriver, running: Bool) throws {
        let src = paths(request.source), dst = paths(request.target)
        try FileManager.default.createDirectory(atPath: dst.directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for dir in [dst.rootfs, dst.upper, dst.work] where driver.name == "overlay" {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        let from = request.snapshot.map { src.snapshot($0) + "/data" } ?? driver.dataDirectory(container: src)
        let to = driver.dataDirectory(container: dst)
        try? Host.removeTree(to)
        // A paused source is frozen already, and stays so afterwards.
        let cgroup =
            running && !runtime.pausedClearingStale(request.source) ? ContainerCgroup(layout: try CgroupLayout.host(), stateDirectory: stateDirectory, name: request.source) : nil
        try cgroup?.setFrozen(true)
        if running { CrashPoint.reach("copy-frozen") }
        do {
            try driver.copyData(from: from, to: to, what: "copying \(request.source) to \(request.target)")
        } catch {
            try? cgroup?.setFrozen(false)
            throw error
        }
        try cgroup?.setFrozen(false)
        CrashPoint.reach("copy-copied")
        for s in plan.snapshots {
            try FileManager.default.createDirectory(atPath: dst.snapshot(s.name), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try driver.copyData(from: src.snapshot(s.name) + "/data", to: dst.snapshot(s.name) + "/data", what: "copying snapshot \(s.name) of \(request.source)")
            CrashPoint.reach("copy-snapshot-copied")
        }
        CrashPoint.reach("copy-files-done")
    }

    /// Records the copied snapshots (config, devices, profile list) under the new container.
    private func recordSnapshots(_ db: Database, of target: ContainerRecord, _ copied: [SnapshotRecord]) throws {
        let targetID = try target.requireID()
        for s in copied {
            var copy = SnapshotRecord(containerId: targetID, name: s.name, description: s.description, createdAt: s.createdAt, expiresAt: s.expiresAt)
            try copy.insert(db)
            let (from, to) = (try s.requireID(), try copy.requireID())
            try ConfigTable.snapshots.replace(db, owner: to, with: try ConfigTable.snapshots.load(db, owner: from))
            var devices = try DeviceTable.snapshots.load(db, owner: from)
            _ = Self.clearStaticAddresses(&devices)
            try DeviceTable.snapshots.replace(db, owner: to, with: devices)
            try SnapshotProfiles.copy(db, from: from, to: to)
        }
    }
}
