import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

struct Snapshots: StateBound {
    let state: State

    /// A snapshot's profiles, in order. Deleting a profile a snapshot names is refused, but a database
    /// from before that rule may lack one: refused clearly rather than dropped.
    func snapshotProfiles(_ db: Database, _ s: SnapshotRecord, of container: String) throws -> [ProfileRecord] {
        let names = try SnapshotProfiles.names(db, snapshot: try s.requireID())
        return try names.map { name in
            guard let record = try ProfileRecord.named(name, in: db) else {
                throw SysboxError.notFound("snapshot \(s.name) of \(container) uses profile \(name), which no longer exists; create it again first (sysbox profile create \(name))")
            }
            return record
        }
    }

    /// Descriptions of the snapshots `snapshots.keep.last` counts.
    static let scheduledDescriptions: Set<String> = [scheduledSnapshotDescription, startupSnapshotDescription]

    func snapshotRecord(_ db: Database, container: ContainerRecord, _ name: String) throws -> SnapshotRecord {
        let id = try container.requireID()
        if let r = try SnapshotRecord.named(name, container: id, in: db) { return r }
        let names = try SnapshotRecord.names(container: id, in: db)
        throw SysboxError.notFound(
            "snapshot \(name) of \(container.name) not found\(Suggest.hint(name, names, then: "run sysbox snapshot list \(container.name) to see its snapshots"))")
    }

    /// The name of a new snapshot from `pattern`, as LXD makes it: `%d` is one more than the highest
    /// number among the names the pattern gives (`snap0`, `snap4` → `snap5`; a gap is not filled); a
    /// pattern without `%d` is the name itself, or `NAME-%d` when a snapshot has that name already.
    static func nextSnapshotName(pattern: String, existing: Set<String>) -> String {
        var pattern = pattern
        if !pattern.contains("%d") {
            guard existing.contains(pattern) else { return pattern }
            pattern += "-%d"
        }
        guard let slot = pattern.range(of: "%d") else { return pattern }
        let prefix = String(pattern[..<slot.lowerBound]), suffix = String(pattern[slot.upperBound...])
        var next = 0
        for name in existing where name.count > prefix.count + suffix.count && name.hasPrefix(prefix) && name.hasSuffix(suffix) {
            let digits = name.dropFirst(prefix.count).dropLast(suffix.count)
            guard digits.allSatisfy(\.isASCIIDigit), let n = Int(digits), n < Int.max else { continue }
            next = max(next, n + 1)
        }
        // (A pattern set before `%d` was limited to one may hold more: each gets the number.)
        func make(_ n: Int) -> String { prefix + String(n) + suffix.replacingOccurrences(of: "%d", with: String(n)) }
        while existing.contains(make(next)) && next < Int.max { next += 1 }
        return make(next)
    }

    /// `2d`, `1w 3d` from now.
    static func expiryDate(_ text: String, from now: Date = Date()) throws -> Date {
        let parts: [(Int, Character)]
        do { parts = try Values.expiry(text) } catch { throw SysboxError.invalid("invalid expiry \(Names.quote(text)): \(error.message)", cause: error) }
        var components = DateComponents()
        for (n, unit) in parts {
            switch unit {
            case "M": components.minute = (components.minute ?? 0) + n
            case "H": components.hour = (components.hour ?? 0) + n
            case "d": components.day = (components.day ?? 0) + n
            case "w": components.day = (components.day ?? 0) + 7 * n
            case "m": components.month = (components.month ?? 0) + n
            default: components.year = (components.year ?? 0) + n
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
        return calendar.date(byAdding: components, to: now) ?? now
    }

    /// Takes a snapshot: a copy of the container's data directory (overlay: its upper layer only, so an
    /// unchanged container's snapshot is nearly empty; dir: the root filesystem, reflinked where it can)
    /// and its own config, devices and profile list at that moment. A running container is frozen
    /// (cgroup freezer) while its files are copied. The copy is made in a temporary directory and
    /// renamed into place, then recorded; the operation is journalled, so a kill at any point is
    /// finished or undone by the next command.
    /// - Returns: the snapshot's name (from `snapshots.pattern` when not given).
    @discardableResult
    public func createSnapshot(
        _ name: String, snapshot given: String?, expiry: String? = nil, reuse: Bool = false,
        description: String = "", at now: Date = Date()
    ) throws -> TakenSnapshot {
        try Names.validate(name, as: .container)
        if let given { try Names.validate(given, as: .snapshot) }
        if let expiry { _ = try Self.expiryDate(expiry) }
        _ = try read { db in try container(db, name) }
        return try withLock(name) {
            try createSnapshotLocked(name, snapshot: given, expiry: expiry, reuse: reuse, description: description, at: now)
        }
    }

    /// `createSnapshot` for a caller that holds the container's lock already (`start`, for `@startup`):
    /// taking it again here would block on our own flock.
    func createSnapshotLocked(
        _ name: String, snapshot given: String?, expiry: String? = nil, reuse: Bool = false,
        description: String = "", at now: Date = Date()
    ) throws -> TakenSnapshot {
        let driver = try storageDriver()
        var replaced = false
        let p = paths(name)
        let (record, snap, expires) = try read { db -> (ContainerRecord, String, Date?) in
            let record = try container(db, name)
            let expanded = try containers.view(db, record).expanded.config
            let existing = Set(try SnapshotRecord.names(container: try record.requireID(), in: db))
            let snap = given ?? Self.nextSnapshotName(pattern: expanded["snapshots.pattern"] ?? "snap%d", existing: existing)
            try Names.validate(snap, as: .snapshot)
            let expiryText = expiry ?? expanded["snapshots.expiry"]
            return (record, snap, try expiryText.map { try Self.expiryDate($0, from: now) })
        }
        if try read({ db in try SnapshotRecord.named(snap, container: try record.requireID(), in: db) }) != nil {
            guard reuse else {
                throw SysboxError(.alreadyExists, "snapshot \(snap) of \(name) already exists; pick another name or replace it with --reuse")
            }
            try deleteSnapshotLocked(name, snap)
            replaced = true
        }
        let final = p.snapshot(snap)
        guard !FileManager.default.fileExists(atPath: final) else {
            throw SysboxError(.alreadyExists, "\(final) exists without a snapshot record; move it away first (sysbox never deletes what it did not make)")
        }
        let op = try write { db in
            try Journal.begin(
                db, SnapshotPayload(start: Host.startTime(of: getpid()) ?? 0),
                entityName: Journal.snapshotEntityName(container: name, snapshot: snap))
        }
        let tmp = p.snapshots + "/.tmp-\(op.uuid.prefix(8))"
        do {
            try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try Host.writeAtomically(op.uuid + "\n", to: tmp + "/operation", mode: 0o600)
            let running = runtime.liveState(name) != nil
            // A paused container is frozen already, and stays so afterwards.
            let cgroup = running && !runtime.pausedClearingStale(name) ? ContainerCgroup(layout: try CgroupLayout.host(), stateDirectory: stateDirectory, name: name) : nil
            try cgroup?.setFrozen(true)
            defer { try? cgroup?.setFrozen(false) }
            if running { CrashPoint.reach("snapshot-frozen") }
            try driver.copyData(from: driver.dataDirectory(container: p), to: tmp + "/data", what: "copying \(name)'s files into snapshot \(snap)")
            CrashPoint.reach("snapshot-copied")
            guard rename(tmp, final) == 0 else { throw SysboxError(.io, "cannot move the snapshot into \(final): \(Host.errnoText(errno))") }
            CrashPoint.reach("snapshot-renamed")
            try write { db in
                let id = try container(db, name).requireID()
                var s = SnapshotRecord(containerId: id, name: snap, description: description, createdAt: now, expiresAt: expires)
                try s.insert(db)
                let snapshotID = try s.requireID()
                let local = try layer(db, container: id)
                try ConfigTable.snapshots.replace(db, owner: snapshotID, with: local.config)
                try DeviceTable.snapshots.replace(db, owner: snapshotID, with: local.devices)
                try SnapshotProfiles.replace(db, snapshot: snapshotID, profiles: try ContainerProfiles.load(db, container: id).map(\.name))
                try Journal.finish(db, uuid: op.uuid, as: .done)
            }
        } catch {
            try? Host.removeTree(tmp)
            if Self.createdBy(final, op.uuid) { try? Host.removeTree(final) }
            try? write { db in try Journal.finish(db, uuid: op.uuid, as: .failed) }
            throw error
        }
        unlink(final + "/operation")
        return TakenSnapshot(name: snap, replaced: replaced)
    }

    /// Whether `dir` was made by operation `uuid` (its `operation` file says so).
    static func createdBy(_ dir: String, _ uuid: String) -> Bool {
        (try? String(contentsOfFile: dir + "/operation", encoding: .utf8)) == uuid + "\n"
    }

    /// The snapshots of a container, oldest first.
    public func listSnapshots(_ name: String) throws -> [SnapshotEntry] {
        try Names.validate(name, as: .container)
        let p = paths(name)
        return try read { db in
            let record = try container(db, name)
            return try SnapshotRecord.filter(Column("container_id") == record.requireID()).order(Column("created_at"), Column("id")).fetchAll(db).map {
                SnapshotEntry(name: $0.name, createdAt: $0.createdAt, expiresAt: $0.expiresAt, size: Images.treeSize(p.snapshot($0.name) + "/data"))
            }
        }
    }

    /// A snapshot as YAML: name, dates, profiles, config and devices as they were.
    public func snapshotDocument(_ name: String, _ snap: String) throws -> String {
        try Names.validate(name, as: .container)
        try Names.validate(snap, as: .snapshot)
        return try read { db in
            let record = try container(db, name)
            let s = try snapshotRecord(db, container: record, snap)
            let id = try s.requireID()
            return YAMLDocs.snapshot(
                name: s.name, createdAt: s.createdAt, expiresAt: s.expiresAt, profiles: try SnapshotProfiles.names(db, snapshot: id),
                config: try ConfigTable.snapshots.load(db, owner: id),
                devices: try DeviceTable.snapshots.load(db, owner: id))
        }
    }

    /// Restores a snapshot: the container's data directory is replaced by a copy of the snapshot's
    /// (copied aside, then swapped in with two renames), and its config, devices and profiles become the
    /// snapshot's (its `volatile.*` keys stay: identity, MACs, host names). A running container is
    /// refused unless `force`, which stops it, restores and starts it again. Journalled like create.
    /// - Returns: warnings of the start after a forced restore.
    @discardableResult
    public func restoreSnapshot(_ name: String, _ snap: String, force: Bool = false) throws -> [String] {
        try Names.validate(name, as: .container)
        try Names.validate(snap, as: .snapshot)
        _ = try read { db in try snapshotProfiles(db, try snapshotRecord(db, container: try container(db, name), snap), of: name) }
        var restart = false
        try withLock(name) {
            runtime.waitWhileBusy(name)
            if runtime.liveState(name) != nil {
                guard force else {
                    throw SysboxError(.conflict, "container \(name) is running; stop it first (sysbox stop \(name)) or restore with --force (stops it, restores, starts it again)")
                }
                try runtime.stopLocked(name, force: false, timeout: 30)
                restart = true
            }
            runtime.cleanupStale(name)
            try restoreLocked(name, snap)
        }
        return restart ? try runtime.start(name) : []
    }

    func restoreLocked(_ name: String, _ snap: String) throws {
        let driver = try storageDriver()
        let p = paths(name)
        let data = driver.dataDirectory(container: p)
        let source = p.snapshot(snap) + "/data"
        guard FileManager.default.fileExists(atPath: source) else {
            throw SysboxError(.io, "snapshot \(snap) of \(name) has no files at \(source); delete it (sysbox snapshot delete \(name) \(snap))")
        }
        let op = try write { db in
            try Journal.begin(
                db, RestorePayload(start: Host.startTime(of: getpid()) ?? 0),
                entityName: Journal.snapshotEntityName(container: name, snapshot: snap))
        }
        let fresh = data + ".restore-new-\(op.uuid.prefix(8))", old = data + ".restore-old-\(op.uuid.prefix(8))"
        do {
            try driver.copyData(from: source, to: fresh, what: "copying snapshot \(snap) for \(name)")
            CrashPoint.reach("restore-copied")
        } catch {
            try? Host.removeTree(fresh)
            try? write { db in try Journal.finish(db, uuid: op.uuid, as: .failed) }
            throw error
        }
        guard rename(data, old) == 0 else {
            let e = errno
            try? Host.removeTree(fresh)
            try? write { db in try Journal.finish(db, uuid: op.uuid, as: .failed) }
            throw SysboxError(.io, "cannot move \(data) aside: \(Host.errnoText(e))")
        }
        CrashPoint.reach("restore-half-swapped")
        try finishRestore(name, snap, data: data, fresh: fresh, old: old, uuid: op.uuid)
    }

    /// The second half of a restore (also run by recovery): the copy in, the config from the
    /// snapshot, the old files removed.
    func finishRestore(_ name: String, _ snap: String, data: String, fresh: String, old: String, uuid: String) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: fresh) && !fm.fileExists(atPath: data) {
            guard rename(fresh, data) == 0 else { throw SysboxError(.io, "cannot move \(fresh) into place: \(Host.errnoText(errno))") }
        }
        // overlay keeps its own state in the work directory: a new upper layer gets a new one.
        let p = paths(name)
        if data == p.upper {
            try? Host.removeTree(p.work)
            try fm.createDirectory(atPath: p.work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        CrashPoint.reach("restore-swapped")
        try write { db in
            let record = try container(db, name)
            let id = try record.requireID(), snapshotID = try snapshotRecord(db, container: record, snap).requireID()
            let current = try ConfigTable.containers.load(db, owner: id)
            var config = try ConfigTable.snapshots.load(db, owner: snapshotID).filter { !$0.key.hasPrefix("volatile.") }
            for (key, value) in current where key.hasPrefix("volatile.") { config[key] = value }
            try ConfigTable.containers.replace(db, owner: id, with: config)
            try DeviceTable.containers.replace(db, owner: id, with: try DeviceTable.snapshots.load(db, owner: snapshotID))
            let profiles = try SnapshotProfiles.names(db, snapshot: snapshotID).compactMap { try ProfileRecord.named($0, in: db)?.requireID() }
            try ContainerProfiles.replace(db, container: id, profiles: profiles)
            try Journal.finish(db, uuid: uuid, as: .done)
        }
        try? Host.removeTree(old)
    }

    /// Renames a snapshot (its directory and record together).
    public func renameSnapshot(_ name: String, _ old: String, to new: String) throws {
        try Names.validate(name, as: .container)
        try Names.validate(old, as: .snapshot)
        try Names.validate(new, as: .snapshot)
        try withLock(name) {
            let p = paths(name)
            try write { db in
                let record = try container(db, name)
                var s = try snapshotRecord(db, container: record, old)
                guard old != new else {
                    throw SysboxError.invalid("snapshot \(old) of \(name) is already called \(new); give a different new name")
                }
                if try SnapshotRecord.named(new, container: try record.requireID(), in: db) != nil {
                    throw SysboxError(.alreadyExists, "snapshot \(new) of \(name) already exists; pick another name")
                }
                guard !FileManager.default.fileExists(atPath: p.snapshot(new)) else {
                    throw SysboxError(.alreadyExists, "\(p.snapshot(new)) exists without a snapshot record; move it away first")
                }
                s.name = new
                try s.update(db)
                // Inside the transaction: a failed rename rolls the record back.
                guard rename(p.snapshot(old), p.snapshot(new)) == 0 else {
                    throw SysboxError(.io, "cannot rename \(p.snapshot(old)): \(Host.errnoText(errno))")
                }
            }
        }
    }

    /// Deletes snapshots (all names checked first).
    public func deleteSnapshots(_ name: String, _ snaps: [String]) throws {
        try Names.validate(name, as: .container)
        try refuseDuplicates(snaps, what: "snapshot")
        for snap in snaps { try Names.validate(snap, as: .snapshot) }
        try withLock(name) {
            try read { db in
                let record = try container(db, name)
                for snap in snaps { _ = try snapshotRecord(db, container: record, snap) }
            }
            for snap in snaps { try deleteSnapshotLocked(name, snap) }
        }
    }

    /// The record goes first (in the transaction that renames the files to a trash name), then the
    /// files: a kill in between leaves only a trash directory the next command removes.
    func deleteSnapshotLocked(_ name: String, _ snap: String) throws {
        let p = paths(name)
        let trash = p.snapshots + "/.trash-\(UUID().uuidString.prefix(8))"
        try write { db in
            let record = try container(db, name)
            let s = try snapshotRecord(db, container: record, snap)
            _ = try s.delete(db)
            if FileManager.default.fileExists(atPath: p.snapshot(snap)) {
                guard rename(p.snapshot(snap), trash) == 0 else {
                    throw SysboxError(.io, "cannot remove \(p.snapshot(snap)): \(Host.errnoText(errno))")
                }
            }
        }
        try? Host.removeTree(trash)
    }

    /// After a crash: a snapshot not recorded is removed (only what the operation made), a restore is
    /// finished when its new files were in place or half-swapped, else undone; trash is emptied.
    func recoverSnapshotOperation(_ op: OperationRecord) throws {
        guard let (name, snap) = op.snapshotTarget, Names.problem(name, as: .container) == nil, Names.problem(snap, as: .snapshot) == nil else {
            try write { db in try Journal.finish(db, uuid: op.uuid, as: .failed) }
            return
        }
        let p = paths(name)
        let short = String(op.uuid.prefix(8))
        switch op.action {
        case .snapshot:
            runtime.thawIfRunning(name)  // killed while the container was frozen for the copy
            try? Host.removeTree(p.snapshots + "/.tmp-\(short)")
            let recorded = try read { db in
                try ContainerRecord.named(name, in: db).flatMap { c in try SnapshotRecord.named(snap, container: try c.requireID(), in: db) } != nil
            }
            if !recorded && Self.createdBy(p.snapshot(snap), op.uuid) { try? Host.removeTree(p.snapshot(snap)) }
            try write { db in try Journal.finish(db, uuid: op.uuid, as: recorded ? .done : .failed) }
        case .restore:
            let data = try storageDriver().dataDirectory(container: p)
            let fresh = data + ".restore-new-\(short)", old = data + ".restore-old-\(short)"
            let fm = FileManager.default
            if fm.fileExists(atPath: old) {
                // The old files were moved aside: the new ones are complete; finish.
                try finishRestore(name, snap, data: data, fresh: fresh, old: old, uuid: op.uuid)
            } else {
                try? Host.removeTree(fresh)
                try write { db in try Journal.finish(db, uuid: op.uuid, as: .failed) }
            }
        case .create, .delete:
            try write { db in try Journal.finish(db, uuid: op.uuid, as: .failed) }
        }
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: p.snapshots)) ?? [] where entry.hasPrefix(".trash-") {
            try? Host.removeTree(p.snapshots + "/" + entry)
        }
    }

    /// `snapshots.schedule` with `@startup`: a snapshot at every start, taken (as LXD does) before init
    /// runs, so the files are at rest; named and expiring like any other. Called holding the lock.
    /// - Returns: whether one was taken.
    func takeStartupSnapshot(_ name: String) throws -> Bool {
        let schedule = try read { db in try containers.view(db, try container(db, name)).expanded.config["snapshots.schedule"] }
        guard let schedule, (try? CronSchedule.parse(schedule))?.atStartup == true else { return false }
        do {
            let taken = try createSnapshotLocked(name, snapshot: nil, description: startupSnapshotDescription)
            Self.logger.debug("@startup snapshot taken", metadata: ["snapshot": "\(taken.name)"])
        } catch let error as SysboxError {
            throw error.wrapped("the @startup snapshot (snapshots.schedule) failed: \(error.message)")
        }
        return true
    }
}
