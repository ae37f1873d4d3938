import ArgumentParser
import SysboxCore

struct SnapshotRename: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename", abstract: "Rename a snapshot.",
        discussion: """
            Examples:
              sysbox snapshot rename web1 snap0 before-upgrade
            """, aliases: ["mv"])

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "Snapshot name.", completion: .snapshots) var snapshot: String
    @Argument(help: "New snapshot name.") var newName: String

    func run() throws {
        try CLI.manager().renameSnapshot(name, snapshot, to: newName)
        CLI.out("Snapshot \(snapshot) of \(name) renamed to \(newName)\n")
    }
}
