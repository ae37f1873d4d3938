import ArgumentParser
import SysboxCore

struct SnapshotPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Delete expired snapshots, and scheduled ones beyond snapshots.keep.last.",
        discussion: """
            Expired snapshots (snapshots.expiry, --expiry) go whoever took them; snapshots.keep.last=N keeps the newest N snapshots taken by the schedule (snapshots you take by hand are never counted). Without names, every container.

            Examples:
              sysbox snapshot prune
              sysbox snapshot prune web1
            """)

    @Argument(help: "Containers (all when none).", completion: .containers) var names: [String] = []

    func run() throws {
        for deleted in try CLI.manager().pruneSnapshots(names) { CLI.out(deleted.line + "\n") }
    }
}
