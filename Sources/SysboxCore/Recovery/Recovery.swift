import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// Finishes or undoes what a killed command left half-done (the operations journal) and sweeps
/// half-built images. Commands that read or change containers call it first; the monitors do not.
struct Recovery: StateBound {
    let state: State

    /// Recovers interrupted operations, then removes the directories of image builds that were killed
    /// half-way (gone at the next command, not the next build).
    func run() throws {
        try recoverInterruptedOperations()
        images.sweepImageBuilds()
    }

    /// Finishes or undoes operations whose process died half-way (kill -9, power loss): an interrupted
    /// create is undone, an interrupted delete is finished.
    func recoverInterruptedOperations() throws {
        let ops = try read { db in try Journal.inFlight(db) }
        for op in ops {
            // An unreadable payload: start time unknown (0), nothing frozen.
            let payload = try? op.decodedPayload()
            if PidFile.isAlive((op.pid, payload?.start ?? 0)) { continue }
            switch op.entityType {
            case .snapshot:
                let container = String(op.entityName.split(separator: "/").first ?? "")
                guard Names.problem(container, as: .container) == nil, let lock = tryLock(container) else { continue }
                defer { close(lock) }
                try snapshots.recoverSnapshotOperation(op)
                Self.logger.info("recovered interrupted \(op.action) of \(op.entityName)")
                continue
            case .container: break
            }
            let name = op.entityName, valid = Names.problem(name, as: .container) == nil
            // Someone holds the container's lock: the operation may still be running; leave it.
            guard let lock = valid ? tryLock(name) : -1 else { continue }
            defer { if lock >= 0 { close(lock) } }
            // A copy killed while its running source was frozen: thaw the source (under its lock).
            if let frozen = payload?.frozen, frozen != name, Names.problem(frozen, as: .container) == nil {
                guard let sourceLock = tryLock(frozen) else { continue }
                defer { close(sourceLock) }
                runtime.thawIfRunning(frozen)
            }
            if valid {
                if let layout = try? CgroupLayout.host(), runtime.liveState(name) == nil {
                    try? ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).remove()
                }
                if runtime.liveState(name) == nil {
                    try? Host.removeTree(paths(name).directory)
                    try write { db in _ = try ContainerRecord.filter(Column("name") == name).deleteAll(db) }
                }
            }
            try write { db in try Journal.finish(db, uuid: op.uuid, as: op.action == .create ? .failed : .done) }
            Self.logger.info("recovered interrupted \(op.action) of \(op.entityName)")
        }
    }
}
