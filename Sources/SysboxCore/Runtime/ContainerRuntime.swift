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

struct ContainerRuntime: StateBound {
    let state: State

    /// The running state from the kernel: init (pid + start time) alive, and its monitor.
    public func liveState(_ name: String) -> LiveState? {
        let p = paths(name)
        guard let initEntry = PidFile.read(p.initPid), PidFile.isAlive(initEntry) else { return nil }
        let monitor = PidFile.read(p.monitorPid)
        return LiveState(initPid: initEntry.pid, monitorPid: PidFile.isAlive(monitor) ? monitor?.pid : nil)
    }

    /// Whether the container's monitor process is alive (starting, running or finishing a stop): it
    /// holds `locks/NAME.monitor` for its whole life, and the kernel drops the lock when it dies.
    func monitorAlive(_ name: String) -> Bool { Host.lockHeld(paths(name).monitorLock) }

    /// Running when init lives; Starting / Stopping while only its monitor does (before init runs, or
    /// while it cleans up after init); else Stopped.
    public func runtimeStatus(_ name: String) -> (ContainerStatus, Int32?) {
        if let live = liveState(name) { return (isPaused(name) ? .frozen : .running, live.initPid) }
        guard monitorAlive(name) else { return (.stopped, nil) }
        return (FileManager.default.fileExists(atPath: paths(name).initPid) ? .stopping : .starting, nil)
    }

    /// Waits up to `seconds` while the monitor is alive but init is not (a start or a stop in progress).
    func waitWhileBusy(_ name: String, seconds: Double = 10) {
        let deadline = Date().addingTimeInterval(seconds)
        while liveState(name) == nil && monitorAlive(name) && Date() < deadline { usleep(20_000) }
    }

    /// Records the state of record (`containers.power_state`); `running` also stamps `last_used_at`.
    func recordPowerState(_ name: String, _ state: PowerState) throws {
        try write { db in try ContainerRecord.setPowerState(state, name: name, in: db) }
    }

    /// Removes what a dead container left: pid files, socket, cgroup. Only when init is not running.
    /// `layout` is the host's cgroup layout when the caller has it already (read from
    /// /proc/self/mountinfo otherwise).
    func cleanupStale(_ name: String, layout known: CgroupLayout? = nil) {
        let p = paths(name)
        guard liveState(name) == nil else { return }
        waitWhileBusy(name)
        // A monitor still alive now is stuck: it is not init's parent any more, so end it.
        if let monitor = PidFile.read(p.monitorPid), PidFile.isAlive(monitor), liveState(name) == nil {
            kill(monitor.pid, SIGKILL)
            var tries = 0
            while PidFile.isAlive(monitor) && tries < 100 {
                usleep(10_000)
                tries += 1
            }
        }
        guard liveState(name) == nil else { return }
        Proxies.stop(directory: p.directory, container: name)
        BridgeFilters.removeStale(planPath: p.plan)
        unlink(p.initPid)
        unlink(p.monitorPid)
        unlink(p.execCache)
        unlink(p.paused)
        unlink(p.directory + "/" + ContainerPaths.consoleSocket)
        if let layout = known ?? (try? CgroupLayout.host()) {
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
            // The host's cgroup layout, read once (/proc/self/mountinfo) for every step of this start:
            // the stale cleanup, the plan, the monitor's cgroup and the exec cache. A host without
            // cgroups fails where the plan needs them, after the plan's own checks, as before.
            let layout = Result { try CgroupLayout.host() }
            cleanupStale(name, layout: try? layout.get())
            var warnings: [String] = []
            let p = paths(name)
            unlink(p.lastError)
            do {
                snapshotTaken = try snapshots.takeStartupSnapshot(name)
                let started = DispatchTime.now()
                let plan = try makePlan(name, layout: layout, warnings: &warnings)
                if plan.mounts.first(where: { $0.kind == .rootfs })?.fstype == "overlay" {
                    // The overlay markers of the kind this start's mount reads (OverlayMarkers).
                    try OverlayMarkers.sync(upper: p.upper, to: plan.userNamespace == nil ? .trusted : .user)
                }
                try plan.save(to: p.plan)
                try Proxies.save(try Proxies.specs(containers.containerView(name).expanded.devices), directory: p.directory)
                Self.logger.debug("start plan written", metadata: ["ms": "\(Self.ms(started, .now()))"])
                // A mount namespace of its own only for a monitor that stages read-only disks (it
                // holds on to the host's mounts as long as it lives).
                _ = try launchMonitor(name, paths: p, layout: try? layout.get(), ownMountNamespace: !ReadOnlyDisks.needsStaging(plan).isEmpty)
                Self.logger.debug("monitor reports init running", metadata: ["ms": "\(Self.ms(started, .now()))"])
                // The state of record and the map this start used (LXD's volatile.idmap.current; `[]`
                // when privileged), in one write transaction (each costs an fsync).
                try write { db in
                    try ContainerRecord.setPowerState(.running, name: name, in: db)
                    try idmaps.recordCurrent(db, container: name, try idmaps.recorded(db, container: name, key: IDMaps.nextKey))
                }
                try? execs.writeExecCache(name, layout: try? layout.get())
            } catch let error as SysboxError {
                try? Host.writeAtomically(error.message + "\n", to: p.lastError, mode: 0o600)
                cleanupStale(name, layout: try? layout.get())
                try? recordPowerState(name, .stopped)
                throw error.wrapped("cannot start \(name): \(error.message)")
            }
            return warnings
        }
        // Retention for the new snapshot, once the lock is free again (deleting takes it).
        if snapshotTaken {
            do { try schedule.pruneSnapshots([name]) } catch { warnings.append("snapshot retention of \(name) failed: \(Host.describe(error))") }
        }
        return warnings
    }

    /// Spawns the monitor and waits for its `ok PID` / `error …` line.
    func launchMonitor(_ name: String, paths p: ContainerPaths, layout: CgroupLayout? = nil, ownMountNamespace: Bool = false) throws -> Int32 {
        try DetachedProcess(state: state).launch(["__monitor", name], log: p.monitorLog, what: "the monitor", layout: layout, ownMountNamespace: ownMountNamespace)
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
            // Stopped on purpose: a `RUNNING` an earlier `sysbox shutdown` recorded must not bring it
            // back at the next autostart (LXD records the last state at every stop).
            try? write { db in
                guard let record = try ContainerRecord.named(name, in: db), let id = record.id,
                    try ConfigTable.containers.load(db, owner: id)[BootPlan.lastStateKey] != nil
                else { return }
                try ConfigTable.containers.set(db, owner: id, key: BootPlan.lastStateKey, value: nil)
            }
        }
    }

    func stopLocked(_ name: String, force: Bool, timeout: Double) throws {
        let p = paths(name)
        guard let live = liveState(name) else { return }
        thawIfPaused(name)
        let initFD = sysbox_pidfd_open(live.initPid)
        guard initFD >= 0 else { cleanupStale(name); return }
        defer { close(initFD) }
        let monitorFD = live.monitorPid.map { sysbox_pidfd_open($0) } ?? -1
        defer { if monitorFD >= 0 { close(monitorFD) } }
        let signal = force ? SIGKILL : (StartPlan.stopSignal(at: p.plan) ?? SIGTERM)
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
                try? recordPowerState(name, .stopped)
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
        _ = try containers.containerView(name)
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

    /// The runtime log of `name` (containers/NAME/monitor.log: what its monitors wrote, e.g. warnings and
    /// why a start or an init failed), its last `limit` bytes from a line start; "" when there is none.
    public func runtimeLog(_ name: String, limit: Int = 64 * 1024) -> String {
        guard let handle = FileHandle(forReadingAtPath: paths(name).monitorLog) else { return "" }
        defer { try? handle.close() }
        let size = (try? handle.seekToEnd()) ?? 0
        let start = size > UInt64(limit) ? size - UInt64(limit) : 0
        guard (try? handle.seek(toOffset: start)) != nil, let data = try? handle.readToEnd() else { return "" }
        var text = String(decoding: data, as: UTF8.self)
        if start > 0, let newline = text.firstIndex(of: "\n") { text = String(text[text.index(after: newline)...]) }
        return text
    }

    /// The reason the last start failed, if it did.
    public func lastStartError(_ name: String) -> String? {
        (try? String(contentsOfFile: paths(name).lastError, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Thaws a running container that a process killed mid-copy or mid-snapshot left frozen (sysbox
    /// freezes containers only for those instants, and a paused one is left alone). Called holding its lock.
    func thawIfRunning(_ name: String) {
        // A paused container stays frozen: the user wants it so.
        guard liveState(name) != nil, !FileManager.default.fileExists(atPath: paths(name).paused), let layout = try? CgroupLayout.host() else { return }
        do {
            try ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).setFrozen(false)
        } catch {
            Self.logger.warning("cannot thaw \(name) after an interrupted operation: \(Host.describe(error))")
        }
    }

}
