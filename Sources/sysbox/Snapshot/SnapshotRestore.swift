import ArgumentParser
import SysboxCore

struct SnapshotRestore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Restore a container's files, config, devices and profiles from a snapshot.",
        discussion: """
            A running container is refused unless --force, which stops it cleanly, restores and starts it again. The container keeps its identity (volatile.* keys: UUID, MACs).

            Examples:
              sysbox snapshot restore web1 before-upgrade
              sysbox snapshot restore web1 snap0 --force
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "Snapshot name.", completion: .snapshots) var snapshot: String
    @Flag(name: .shortAndLong, help: "Stop a running container, restore, start it again.") var force = false

    func run() throws {
        let warnings = try CLI.withProgress { try CLI.manager().restoreSnapshot(name, snapshot, force: force) }
        CLI.out("Container \(name) restored from \(snapshot)\n")
        for w in warnings { CLI.warn(w) }
    }
}
