import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// A running container as the kernel shows it.
public struct LiveState: Sendable, Equatable {
    public var initPid: Int32
    public var monitorPid: Int32?
}

extension Manager {
    func paths(_ name: String) -> ContainerPaths { ContainerPaths(stateDirectory: stateDirectory, name: name) }

    var containersDirectory: String { stateDirectory + "/containers" }

    /// The storage driver of this state directory: chosen once (overlay where the kernel has it, else
    /// dir; `$SYSBOX_STORAGE_DRIVER` overrides the first choice) and recorded in the settings.
    func storageDriver() throws -> StorageDriver {
        if let name = try read({ db in try Settings.get(db, "storage.driver") }) { return try StorageDrivers.named(name) }
        let wanted = ProcessInfo.processInfo.environment["SYSBOX_STORAGE_DRIVER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (BtrfsDriver.isBtrfs(stateDirectory) ? "btrfs" : OverlayDriver.supported ? "overlay" : "dir")
        let driver = try StorageDrivers.named(wanted)
        try write { db in
            if try Settings.get(db, "storage.driver") == nil { try Settings.set(db, "storage.driver", driver.name) }
        }
        return try StorageDrivers.named(try read { db in try Settings.get(db, "storage.driver") } ?? driver.name)
    }

    /// `pid starttime` files name one process even after pid reuse.
    static func readPidFile(_ path: String) -> (pid: Int32, start: UInt64)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { return nil }
        return (pid, start)
    }

    static func isAlive(_ entry: (pid: Int32, start: UInt64)?) -> Bool {
        guard let entry else { return false }
        return Host.startTime(of: entry.pid) == entry.start
    }

    /// The running state from the kernel: init (pid + start time) alive, and its monitor.
    public func liveState(_ name: String) -> LiveState? {
        let p = paths(name)
        guard let initEntry = Self.readPidFile(p.initPid), Self.isAlive(initEntry) else { return nil }
        let monitor = Self.readPidFile(p.monitorPid)
        return LiveState(initPid: initEntry.pid, monitorPid: Self.isAlive(monitor) ? monitor?.pid : nil)
    }

    /// Whether the container's monitor process is alive (starting, running or finishing a stop): it
    /// holds `locks/NAME.monitor` for its whole life, and the kernel drops the lock when it dies.
    func monitorAlive(_ name: String) -> Bool { Host.lockHeld(paths(name).monitorLock) }

    /// Running when init lives; Starting / Stopping while only its monitor does (before init runs, or
    /// while it cleans up after init); else Stopped.
    public func runtimeStatus(_ name: String) -> (ContainerStatus, Int32?) {
        if let live = liveState(name) { return (.running, live.initPid) }
        guard monitorAlive(name) else { return (.stopped, nil) }
        return (FileManager.default.fileExists(atPath: paths(name).initPid) ? .stopping : .starting, nil)
    }

    /// Waits up to `seconds` while the monitor is alive but init is not (a start or a stop in progress).
    func waitWhileBusy(_ name: String, seconds: Double = 10) {
        let deadline = Date().addingTimeInterval(seconds)
        while liveState(name) == nil && monitorAlive(name) && Date() < deadline { usleep(20_000) }
    }

    /// Runs `body` holding the container's lock (flock on `containers/NAME/lock`, released when the
    /// holder dies, so a killed command never leaves it locked).
    func withLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let p = paths(name)
        try FileManager.default.createDirectory(atPath: stateDirectory + "/locks", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(p.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SysboxError(.io, "cannot open \(p.lock): \(Host.errnoText(errno))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SysboxError(.io, "cannot lock \(p.lock): \(Host.errnoText(errno))") }
        }
        return try body()
    }

    /// Takes the container's lock only if it is free; returns the fd holding it (close to release), or
    /// nil when another process holds it.
    func tryLock(_ name: String) -> Int32? {
        try? FileManager.default.createDirectory(atPath: stateDirectory + "/locks", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(paths(name).lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
        close(fd)
        return nil
    }

    /// Records the state of record (`containers.power_state`).
    func recordPowerState(_ name: String, _ state: String) throws {
        try write { db in
            try db.execute(sql: "UPDATE containers SET power_state = ? WHERE name = ?", arguments: [state, name])
            if state == "running" {
                try db.execute(sql: "UPDATE containers SET last_used_at = ? WHERE name = ?", arguments: [Date(), name])
            }
        }
    }

    /// Removes what a dead container left: pid files, socket, cgroup. Only when init is not running.
    func cleanupStale(_ name: String) {
        let p = paths(name)
        guard liveState(name) == nil else { return }
        waitWhileBusy(name)
        // A monitor still alive now is stuck: it is not init's parent any more, so end it.
        if let monitor = Self.readPidFile(p.monitorPid), Self.isAlive(monitor), liveState(name) == nil {
            kill(monitor.pid, SIGKILL)
            var tries = 0
            while Self.isAlive(monitor) && tries < 100 {
                usleep(10_000)
                tries += 1
            }
        }
        guard liveState(name) == nil else { return }
        unlink(p.initPid)
        unlink(p.monitorPid)
        unlink(p.execCache)
        unlink(p.directory + "/" + ContainerPaths.consoleSocket)
        if let layout = try? CgroupLayout.host() {
            try? ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).remove()
        }
    }

    /// Starts a container: writes its start plan, launches its monitor (a detached process in its own
    /// session running `sysbox __monitor NAME`) and waits until init runs or the start fails. A failed
    /// start leaves the container stopped, with the reason in `info` and nothing behind.
    /// - Returns: warnings to show (e.g. NICs not attached).
    @discardableResult
    public func start(_ name: String) throws -> [String] {
        try Names.validate(name, as: .container)
        guard getuid() == 0 else { throw SysboxError(.unsupported, "starting a container needs root (namespaces, mounts, cgroups); run sysbox as root") }
        _ = try read { db in try container(db, name) }  // before taking a lock that would create a file
        var snapshotTaken = false
        var warnings = try withLock(name) {
            _ = try read { db in try container(db, name) }
            waitWhileBusy(name)
            if liveState(name) != nil {
                throw SysboxError(.conflict, "container \(name) is already running")
            }
            if monitorAlive(name) {
                throw SysboxError(.conflict, "container \(name) is busy (its monitor is still starting or stopping it); retry in a moment")
            }
            cleanupStale(name)
            var warnings: [String] = []
            let p = paths(name)
            unlink(p.lastError)
            do {
                snapshotTaken = try takeStartupSnapshot(name)
                let started = DispatchTime.now()
                let plan = try makePlan(name, warnings: &warnings)
                try plan.save(to: p.plan)
                Self.logger.debug("start plan written", metadata: ["ms": "\(Self.ms(started, .now()))"])
                _ = try launchMonitor(name, paths: p)
                Self.logger.debug("monitor reports init running", metadata: ["ms": "\(Self.ms(started, .now()))"])
                try recordPowerState(name, "running")
                try? writeExecCache(name)
            } catch let error as SysboxError {
                try? Host.writeAtomically(error.message + "\n", to: p.lastError, mode: 0o600)
                cleanupStale(name)
                try? recordPowerState(name, "stopped")
                throw SysboxError(error.code, "cannot start \(name): \(error.message)")
            }
            return warnings
        }
        // Retention for the new snapshot, once the lock is free again (deleting takes it).
        if snapshotTaken {
            do { try pruneSnapshots([name]) } catch { warnings.append("snapshot retention of \(name) failed: \(Host.describe(error))") }
        }
        return warnings
    }

    /// `snapshots.schedule` with `@startup`: a snapshot at every start, taken (as LXD does) before init
    /// runs, so the files are at rest; named and expiring like any other. Called holding the lock.
    /// - Returns: whether one was taken.
    func takeStartupSnapshot(_ name: String) throws -> Bool {
        let schedule = try read { db in try view(db, try container(db, name)).expanded.config["snapshots.schedule"] }
        guard let schedule, (try? CronSchedule.parse(schedule))?.atStartup == true else { return false }
        do {
            let taken = try createSnapshotLocked(name, snapshot: nil, description: startupSnapshotDescription)
            Self.logger.debug("@startup snapshot taken", metadata: ["snapshot": "\(taken.name)"])
        } catch let error as SysboxError {
            throw SysboxError(error.code, "the @startup snapshot (snapshots.schedule) failed: \(error.message)")
        }
        return true
    }

    /// Spawns the monitor and waits for its `ok PID` / `error …` line.
    func launchMonitor(_ name: String, paths p: ContainerPaths) throws -> Int32 {
        try launchDetached(["__monitor", name], log: p.monitorLog, what: "the monitor")
    }

    /// Spawns `sysbox ARGS` detached (its own session, stdio on /dev/null and `log`, fd 3 a status
    /// pipe) and waits for its `ok …` / `error MESSAGE` line.
    /// - Returns: the pid of the process.
    func launchDetached(_ arguments: [String], log: String, what: String) throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard sysbox_pipe_cloexec(&fds) == 0 else { throw SysboxError(.io, "pipe: \(Host.errnoText(errno))") }
        defer { close(fds[0]) }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var env = ProcessInfo.processInfo.environment
        env["SYSBOX_DIR"] = stateDirectory
        if let dataDirectory { env["SYSBOX_DATA_DIR"] = dataDirectory }
        let devNullIn = open("/dev/null", O_RDONLY | O_CLOEXEC), devNullOut = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let logFD = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { for fd in [devNullIn, devNullOut, logFD] where fd >= 0 { close(fd) } }
        guard devNullIn >= 0, devNullOut >= 0, logFD >= 0 else {
            close(fds[1])
            throw SysboxError(.io, "cannot start \(what): cannot open /dev/null or \(log): \(Host.errnoText(errno))")
        }
        // Created in the monitors' cgroup2 directory (no migration: a cgroup.procs write would stall
        // every fork on the host for an RCU grace period); the v1 hierarchies it joins itself.
        let monitors = (try? CgroupLayout.host()).map { ContainerCgroup(layout: $0, stateDirectory: stateDirectory, name: ".monitors") }
        try? monitors?.create()
        let cgroupFD = (try? monitors?.joinTargets.openV2Directory()) ?? -1
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        // Its own session: detached from the CLI's terminal.
        let c = CStrings()
        let stdio: [Int32] = [devNullIn, devNullOut, logFD, fds[1]]
        let pid = stdio.withUnsafeBufferPointer { fdPtr in
            sysbox_spawn_detached(exe, c.array([exe] + arguments), c.array(env.map { "\($0.key)=\($0.value)" }.sorted()), fdPtr.baseAddress, cgroupFD)
        }
        close(fds[1])
        guard pid > 0 else { throw SysboxError(.io, "cannot start \(what) \(exe): \(Host.errnoText(-pid))") }
        // Wait for one line (the monitor closes the pipe after it).
        var line = [UInt8]()
        var byte: UInt8 = 0
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            var pfd = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, 1000)
            if n < 0 && errno == EINTR { continue }
            if n == 0 { continue }
            let got = Glibc.read(fds[0], &byte, 1)
            if got <= 0 || byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("ok ") { return pid }
        // A failed monitor cleans up, then exits: wait for it so that nothing is left when start returns.
        var status: Int32 = 0
        if text.isEmpty { kill(pid, SIGKILL) }
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if text.hasPrefix("error ") { throw SysboxError(.io, String(text.dropFirst(6))) }
        let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
        throw SysboxError(.io, "\(what) ended before it was ready\(tail.isEmpty ? "" : ": " + tail)")
    }

    /// Stops a running container: the image's stop signal to init (SIGKILL with `force`), then waits up
    /// to `timeout` seconds before killing it; waits for the monitor to record the stop.
    public func stop(_ name: String, force: Bool = false, timeout: Double = 30) throws {
        try Names.validate(name, as: .container)
        _ = try read { db in try container(db, name) }
        try withLock(name) {
            _ = try read { db in try container(db, name) }
            waitWhileBusy(name)
            guard liveState(name) != nil else {
                cleanupStale(name)
                throw SysboxError(.conflict, "container \(name) is not running")
            }
            try stopLocked(name, force: force, timeout: timeout)
        }
    }

    func stopLocked(_ name: String, force: Bool, timeout: Double) throws {
        let p = paths(name)
        guard let live = liveState(name) else { return }
        let initFD = sysbox_pidfd_open(live.initPid)
        guard initFD >= 0 else { cleanupStale(name); return }
        defer { close(initFD) }
        let monitorFD = live.monitorPid.map { sysbox_pidfd_open($0) } ?? -1
        defer { if monitorFD >= 0 { close(monitorFD) } }
        let signal = force ? SIGKILL : ((try? StartPlan.load(from: p.plan))?.stopSignal ?? SIGTERM)
        _ = sysbox_pidfd_send_signal(initFD, signal)
        if !Self.waitExit(initFD, seconds: force ? 10 : timeout) {
            _ = sysbox_pidfd_send_signal(initFD, SIGKILL)
            _ = Self.waitExit(initFD, seconds: 10)
        }
        if monitorFD >= 0 { _ = Self.waitExit(monitorFD, seconds: 20) }
        if let still = liveState(name) {
            throw SysboxError(.io, "container \(name) did not stop: its init (PID \(still.initPid)) is still running")
        }
        if FileManager.default.fileExists(atPath: p.directory) {
            cleanupStale(name)
            if (try? read({ db in try ContainerRecord.named(name, in: db) })) != nil {
                try? recordPowerState(name, "stopped")
            }
        }
    }

    /// Waits until a pidfd's process exits (poll); false on timeout.
    static func waitExit(_ pidfd: Int32, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var pfd = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, Int32(min(left, 1) * 1000) + 1)
            if n > 0 { return true }
            if n < 0 && errno != EINTR { return true }
        }
    }

    /// Stop (cleanly, within `timeout`) and start again. An ephemeral container survives a restart (the
    /// monitor sees the `restarting` marker), as in LXD.
    public func restart(_ name: String, force: Bool = false, timeout: Double = 30) throws -> [String] {
        try Names.validate(name, as: .container)
        _ = try containerView(name)
        let marker = paths(name).restarting
        _ = FileManager.default.createFile(atPath: marker, contents: Data())
        defer { unlink(marker) }
        if liveState(name) != nil { try stop(name, force: force, timeout: timeout) }
        return try start(name)
    }

    /// How the container's init ended the last time, if it ever did.
    public func lastStop(_ name: String) -> String? {
        (try? String(contentsOfFile: paths(name).lastStop, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The reason the last start failed, if it did.
    public func lastStartError(_ name: String) -> String? {
        (try? String(contentsOfFile: paths(name).lastError, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Removes a stopped container's storage and record (used by delete and by ephemeral containers).
    func deleteStoppedContainer(_ name: String) throws {
        let driver = try storageDriver()
        let op = try write { db -> OperationRecord? in
            // Already gone (an ephemeral container deleted by its monitor as it stopped): done.
            guard try ContainerRecord.named(name, in: db) != nil else { return nil }
            return try Journal.begin(db, action: "delete", entityType: "container", entityName: name,
                                     payload: "{\"start\":\(Host.startTime(of: getpid()) ?? 0)}")
        }
        guard let op else { return }
        try driver.delete(container: paths(name))
        let networks = try write { db -> Set<String> in
            let networks = try ContainerRecord.named(name, in: db).map { try leasedNetworks(db, container: $0.id ?? 0) } ?? []
            _ = try ContainerRecord.filter(Column("name") == name).deleteAll(db)
            try Journal.finish(db, uuid: op.uuid)
            return networks
        }
        syncDNS(networks)
    }

    /// Thaws a running container that a process killed mid-copy or mid-snapshot left frozen (sysbox
    /// freezes containers only for those instants, so a frozen one is never wanted). Called holding its lock.
    func thawIfRunning(_ name: String) {
        guard liveState(name) != nil, let layout = try? CgroupLayout.host() else { return }
        do {
            try ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).setFrozen(false)
        } catch {
            Self.logger.warning("cannot thaw \(name) after an interrupted operation: \(Host.describe(error))")
        }
    }

    /// Finishes or undoes operations whose process died half-way (kill -9, power loss): an interrupted
    /// create is undone, an interrupted delete is finished.
    func recoverInterruptedOperations() throws {
        let ops = try read { db in try Journal.inFlight(db) }
        for op in ops {
            let payload = (try? JSONSerialization.jsonObject(with: Data(op.payload.utf8))) as? [String: Any]
            // Written as a number by create and delete, as a string by snapshot, restore and copy.
            let start = (payload?["start"] as? UInt64) ?? (payload?["start"] as? String).flatMap { UInt64($0) }
            if Self.isAlive((op.pid, start ?? 0)) { continue }
            if op.entityType == "snapshot" {
                let container = String(op.entityName.split(separator: "/").first ?? "")
                guard Names.problem(container, as: .container) == nil, let lock = tryLock(container) else { continue }
                defer { close(lock) }
                try recoverSnapshotOperation(op)
                Self.logger.info("recovered interrupted \(op.action) of \(op.entityName)")
                continue
            }
            let name = op.entityName
            // Someone holds the container's lock: the operation may still be running; leave it.
            guard let lock = (op.entityType == "container" && Names.problem(name, as: .container) == nil) ? tryLock(name) : -1 else { continue }
            defer { if lock >= 0 { close(lock) } }
            // A copy killed while its running source was frozen: thaw the source (under its lock).
            if let frozen = payload?["frozen"] as? String, frozen != name, Names.problem(frozen, as: .container) == nil {
                guard let sourceLock = tryLock(frozen) else { continue }
                defer { close(sourceLock) }
                thawIfRunning(frozen)
            }
            if op.entityType == "container", Names.problem(name, as: .container) == nil {
                if let layout = try? CgroupLayout.host(), liveState(name) == nil {
                    try? ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).remove()
                }
                if liveState(name) == nil {
                    try? Host.removeTree(paths(name).directory)
                    try write { db in _ = try ContainerRecord.filter(Column("name") == name).deleteAll(db) }
                }
            }
            try write { db in try Journal.finish(db, uuid: op.uuid, failed: op.action == "create") }
            Self.logger.info("recovered interrupted \(op.action) of \(op.entityName)")
        }
    }
}

extension Manager {
    /// Renames a stopped container: its directory (rename(2)) and its record, together; snapshots and
    /// config follow the record.
    public func renameContainer(_ old: String, to new: String) throws {
        try Names.validate(old, as: .container)
        try Names.validate(new, as: .container)
        _ = try read { db in try container(db, old) }
        guard old != new else { throw SysboxError.invalid("container \(old) is already called \(new); give a different new name") }
        // Both names locked, in a fixed order (no deadlock with a rename the other way).
        let (first, second) = old < new ? (old, new) : (new, old)
        try withLock(first) { try withLock(second) {
            _ = try read { db in try container(db, old) }
            if try read({ db in try ContainerRecord.named(new, in: db) }) != nil {
                throw SysboxError(.alreadyExists, "container \(new) already exists; pick another name")
            }
            guard liveState(old) == nil else {
                throw SysboxError(.conflict, "container \(old) is running; stop it first (sysbox stop \(old))")
            }
            cleanupStale(old)
            let from = paths(old), to = paths(new)
            if FileManager.default.fileExists(atPath: to.directory) {
                throw SysboxError(.alreadyExists, "\(to.directory) exists without a container record; remove it first")
            }
            guard rename(from.directory, to.directory) == 0 else {
                throw SysboxError(.io, "cannot rename \(from.directory): \(Host.errnoText(errno))")
            }
            do {
                try write { db in
                    if try ContainerRecord.named(new, in: db) != nil {
                        throw SysboxError(.alreadyExists, "container \(new) already exists; pick another name")
                    }
                    try db.execute(sql: "UPDATE containers SET name = ? WHERE name = ?", arguments: [new, old])
                }
            } catch {
                rename(to.directory, from.directory)
                throw error
            }
            syncDNS((try? read { db in try leasedNetworks(db, container: try container(db, new).id ?? 0) }) ?? [])
        } }
    }
}
