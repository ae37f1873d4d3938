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
            let payload = (try? JSONSerialization.jsonObject(with: Data(op.payload.utf8))) as? [String: Any]
            // Written as a number by create and delete, as a string by snapshot, restore and copy.
            let start = (payload?["start"] as? UInt64) ?? (payload?["start"] as? String).flatMap { UInt64($0) }
            if PidFile.isAlive((op.pid, start ?? 0)) { continue }
            if op.entityType == "snapshot" {
                let container = String(op.entityName.split(separator: "/").first ?? "")
                guard Names.problem(container, as: .container) == nil, let lock = tryLock(container) else { continue }
                defer { close(lock) }
                try snapshots.recoverSnapshotOperation(op)
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
                runtime.thawIfRunning(frozen)
            }
            if op.entityType == "container", Names.problem(name, as: .container) == nil {
                if let layout = try? CgroupLayout.host(), runtime.liveState(name) == nil {
                    try? ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).remove()
                }
                if runtime.liveState(name) == nil {
                    try? Host.removeTree(paths(name).directory)
                    try write { db in _ = try ContainerRecord.filter(Column("name") == name).deleteAll(db) }
                }
            }
            try write { db in try Journal.finish(db, uuid: op.uuid, failed: op.action == "create") }
            Self.logger.info("recovered interrupted \(op.action) of \(op.entityName)")
        }
    }
}
