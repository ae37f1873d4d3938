import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `pause` and `resume` (LXD's): every process of a running container frozen with the cgroup freezer
/// (v1 `freezer.state`, v2 `cgroup.freeze`), its status `FROZEN` until resumed or stopped. The marker
/// `containers/NAME/paused` says the freeze is wanted (so snapshots, copies and the recovery of an
/// interrupted one leave it frozen); the status is FROZEN only while the marker is there and the
/// freezer says so too. Exec is refused meanwhile (its process would freeze on joining the cgroup): the
/// exec cache of the C fast path is removed at pause and written again at resume.
extension ContainerRuntime {
    /// Whether `name` is paused: its marker is there and its processes are frozen.
    func isPaused(_ name: String, layout: CgroupLayout? = nil) -> Bool {
        guard FileManager.default.fileExists(atPath: paths(name).paused), let layout = layout ?? (try? CgroupLayout.host()) else { return false }
        return ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).isFrozen()
    }

    /// Freezes a running container (the marker first: a pause killed half-way is finished or undone by
    /// the next `pause` or `resume`).
    /// - Throws: `SysboxError(.conflict)` when it is not running or already paused; `.unsupported`
    ///   without a freezer.
    public func pause(_ name: String) throws {
        try Names.validate(name, as: .container)
        _ = try read { db in try container(db, name) }
        try withLock(name) {
            waitWhileBusy(name)
            guard liveState(name) != nil else { throw SysboxError(.conflict, "container \(name) is not running; only a running container can be paused") }
            let layout = try CgroupLayout.host()
            if isPaused(name, layout: layout) { throw SysboxError(.conflict, "container \(name) is paused already; resume it with: sysbox resume \(name)") }
            let p = paths(name)
            // The marker first, so that no fast-path exec joins the cgroup once it freezes; a pause
            // killed before the freeze leaves a stale marker, which the status ignores (it needs the
            // freezer's word too) and the next pause, resume, stop, snapshot or copy removes.
            try Host.writeAtomically("", to: p.paused, mode: 0o600, durable: false)
            unlink(p.execCache)
            do {
                try ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).setFrozen(true)
            } catch {
                try? ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).setFrozen(false)
                unlink(p.paused)
                try? execs.writeExecCache(name, layout: layout)
                throw error
            }
        }
    }

    /// Thaws a paused container, then removes its marker and writes its exec cache again.
    /// - Throws: `SysboxError(.conflict)` when it is not paused.
    public func resume(_ name: String) throws {
        try Names.validate(name, as: .container)
        _ = try read { db in try container(db, name) }
        try withLock(name) {
            let p = paths(name)
            guard liveState(name) != nil, FileManager.default.fileExists(atPath: p.paused) else {
                throw SysboxError(.conflict, "container \(name) is not paused")
            }
            let layout = try CgroupLayout.host()
            try ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).setFrozen(false)
            unlink(p.paused)
            try? execs.writeExecCache(name, layout: layout)
        }
    }

    /// For a snapshot or copy of a running container (holding its lock): whether it is paused (then
    /// frozen already, and left so). A marker left by a pause killed before it froze anything is
    /// removed here, so a freeze the snapshot makes is never taken for the user's.
    func pausedClearingStale(_ name: String) -> Bool {
        if isPaused(name) { return true }
        unlink(paths(name).paused)
        return false
    }

    /// Before a stop: thaws a paused container (a frozen process takes no signal, and on cgroup v1 not
    /// even SIGKILL ends it) and removes its marker. Called holding its lock.
    func thawIfPaused(_ name: String) {
        let p = paths(name)
        guard FileManager.default.fileExists(atPath: p.paused) else { return }
        if let layout = try? CgroupLayout.host() {
            do {
                try ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).setFrozen(false)
            } catch {
                Self.logger.warning("cannot thaw paused \(name) before stopping it: \(Host.describe(error))")
            }
        }
        unlink(p.paused)
    }
}
