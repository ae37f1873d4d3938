import ArgumentParser
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

    @Argument(help: "Container name.") var name: String
    @Argument(help: "Snapshot name.") var snapshot: String?
    // Unconditional: `--expiry -1d` reaches the expiry check (a clear error) instead of being taken
    // for an option.
    @Option(parsing: .unconditional, help: "Expiry from now, e.g. 2d or 1w 3d (default: snapshots.expiry).") var expiry: String?
    @Flag(help: "Replace a snapshot of the same name.") var reuse = false

    func run() throws {
        let taken = try CLI.manager().createSnapshot(name, snapshot: snapshot, expiry: expiry, reuse: reuse)
        CLI.out("Snapshot \(taken.name) of \(name) \(taken.replaced ? "replaced" : "created")\n")
    }
}
