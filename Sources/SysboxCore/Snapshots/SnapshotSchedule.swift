import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

struct SnapshotSchedule: StateBound {
    let state: State

    /// Deletes expired snapshots (any) and, where `snapshots.keep.last` is set, the scheduled snapshots
    /// (by `schedule run` or `@startup`) beyond the newest N, of the given containers (all when empty).
    /// - Returns: each deleted one, with why.
    @discardableResult
    public func pruneSnapshots(_ names: [String] = []) throws -> [PrunedSnapshot] {
        let now = Date()  // expiry is judged by the real clock, even under `schedule run --at`
        for name in names { try Names.validate(name, as: .container) }
        let targets = try read { db -> [(String, Int?, [SnapshotRecord])] in
            let records = names.isEmpty ? try ContainerRecord.order(Column("name")).fetchAll(db) : try names.map { try container(db, $0) }
            return try records.map { r in
                let keep = try containers.view(db, r).expanded.config["snapshots.keep.last"].flatMap { Int($0) }
                return (r.name, keep, try SnapshotRecord.filter(Column("container_id") == r.id).order(Column("created_at").desc, Column("id").desc).fetchAll(db))
            }
        }
        var deleted: [PrunedSnapshot] = []
        for (name, keep, snapshots) in targets {
            var doomed: [String: PrunedSnapshot.Reason] = [:]
            if let keep {
                for s in snapshots.filter({ Snapshots.scheduledDescriptions.contains($0.description) }).dropFirst(keep) { doomed[s.name] = .retention(keep: keep) }
            }
            for s in snapshots where (s.expiresAt.map { $0 <= now }) ?? false { doomed[s.name] = .expired }
            guard !doomed.isEmpty else { continue }
            let unique = doomed.keys.sorted()
            try self.snapshots.deleteSnapshots(name, unique)
            deleted += unique.compactMap { snap in doomed[snap].map { PrunedSnapshot(container: name, snapshot: snap, reason: $0) } }
        }
        return deleted
    }

    /// One pass of the snapshot scheduler (meant for a timer every minute): every container whose
    /// `snapshots.schedule` fired since its last scheduled snapshot (or its creation) gets one, then
    /// retention runs. A failure of one container is reported and does not stop the others.
    /// - Returns: one line per action or failure.
    public func runSchedule(now: Date = Date()) throws -> [String] {
        let due = try read { db -> [String] in
            var out: [String] = []
            for r in try ContainerRecord.order(Column("name")).fetchAll(db) {
                guard let text = try containers.view(db, r).expanded.config["snapshots.schedule"], let schedule = try? CronSchedule.parse(text) else { continue }
                let last =
                    try SnapshotRecord.latestCreation(container: try r.requireID(), description: scheduledSnapshotDescription, in: db)
                    ?? r.createdAt
                if schedule.fires(after: last, upTo: now) { out.append(r.name) }
            }
            return out
        }
        var report: [String] = []
        for name in due {
            do {
                let taken = try snapshots.createSnapshot(name, snapshot: nil, description: scheduledSnapshotDescription, at: now)
                report.append("Snapshot \(taken.name) of \(name) created")
            } catch {
                report.append("error: snapshot of \(name): \(Host.describe(error))")
            }
        }
        for deleted in try pruneSnapshots() { report.append(deleted.line) }
        return report
    }
}
