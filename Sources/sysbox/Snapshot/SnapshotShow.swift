import ArgumentParser
import SysboxCore

struct SnapshotShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a snapshot's dates, profiles, config and devices as YAML.",
        discussion: """
            Examples:
              sysbox snapshot show web1 snap0
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "Snapshot name.", completion: .snapshots) var snapshot: String

    func run() throws {
        CLI.out(try CLI.manager().snapshotDocument(name, snapshot))
    }
}
