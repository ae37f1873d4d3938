import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

extension Containers {
    /// Renames a stopped container: its directory (rename(2)) and its record, together; snapshots and
    /// config follow the record.
    public func renameContainer(_ old: String, to new: String) throws {
        try Names.validate(old, as: .container)
        try Names.validate(new, as: .container)
        _ = try read { db in try container(db, old) }
        guard old != new else { throw SysboxError.invalid("container \(old) is already called \(new); give a different new name") }
        // Both names locked, in a fixed order (no deadlock with a rename the other way).
        let (first, second) = old < new ? (old, new) : (new, old)
        try withLock(first) {
            try withLock(second) {
                _ = try read { db in try container(db, old) }
                if try read({ db in try ContainerRecord.named(new, in: db) }) != nil {
                    throw SysboxError(.alreadyExists, "container \(new) already exists; pick another name")
                }
                guard runtime.liveState(old) == nil else {
                    throw SysboxError(.conflict, "container \(old) is running; stop it first (sysbox stop \(old))")
                }
                runtime.cleanupStale(old)
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
                        try ContainerRecord.rename(from: old, to: new, in: db)
                    }
                } catch {
                    rename(to.directory, from.directory)
                    throw error
                }
                networks.syncDNS((try? read { db in try nics.leasedNetworks(db, container: try container(db, new).requireID()) }) ?? [])
            }
        }
    }
}
