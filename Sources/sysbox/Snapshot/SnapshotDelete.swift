import ArgumentParser
import SysboxCore

struct SnapshotDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete snapshots of a container.",
        discussion: """
            Every name is checked first; then all are deleted.

            Examples:
              sysbox snapshot delete web1 snap0
              sysbox snapshot delete web1 snap1 snap2
            """, aliases: ["rm"])

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "Snapshot names.", completion: .snapshots) var snapshots: [String] = []

    func run() throws {
        // Here, not in validate(): ArgumentParser reports a validate() error before an unknown option.
        if snapshots.isEmpty { throw ValidationError("give at least one snapshot name") }
        try CLI.manager().deleteSnapshots(name, snapshots)
        for snap in snapshots { CLI.out("Snapshot \(snap) of \(name) deleted\n") }
    }
}
