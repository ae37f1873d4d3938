import ArgumentParser
import Foundation
import SysboxCore

struct SnapshotCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Take a snapshot (named from snapshots.pattern, snap%d, when no name is given).",
        discussion: """
            Examples:
              sysbox snapshot create web1
              sysbox snapshot create web1 before-upgrade --expiry 2d
              sysbox snapshot create web1 nightly --reuse
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "Snapshot name.") var snapshot: String?
    // Unconditional: `--expiry -1d` reaches the expiry check (a clear error) instead of being taken
    // for an option.
    @Option(parsing: .unconditional, help: "Expiry from now, e.g. 2d or 1w 3d (default: snapshots.expiry).") var expiry: String?
    @Flag(help: "Replace a snapshot of the same name.") var reuse = false
    // A test hook: take the snapshot as if it were this time (ISO 8601); its expiry counts from then.
    // Lets a test make a snapshot that has already expired without a zero expiry, which is refused.
    @Option(help: ArgumentHelp("Take the snapshot as if it were this time (ISO 8601).", visibility: .hidden)) var at: String?

    func run() throws {
        // A zero expiry (0M, 0d, 0d 0H) has passed before the snapshot exists: refused, not taken and
        // left for the next prune. (A bad expiry is refused by the manager, with its reason.)
        if let expiry, let parts = try? Values.expiry(expiry), parts.allSatisfy({ $0.0 == 0 }) {
            throw SysboxError(
                .invalidArgument,
                "invalid expiry \(Names.quote(expiry)): it is zero, so the snapshot would have expired already; give at least 1M (a minute), or leave out --expiry for a snapshot that does not expire"
            )
        }
        var now = Date()
        if let at {
            guard let date = ISO8601DateFormatter().date(from: at) else {
                throw SysboxError(.invalidArgument, "--at expects an ISO 8601 time like 2026-12-01T03:00:00Z, got \(Names.quote(at))")
            }
            now = date
        }
        let taken = try CLI.withProgress { try CLI.manager().createSnapshot(name, snapshot: snapshot, expiry: expiry, reuse: reuse, at: now) }
        CLI.out("Snapshot \(taken.name) of \(name) \(taken.replaced ? "replaced" : "created")\n")
    }
}
