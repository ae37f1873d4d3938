import ArgumentParser
import SysboxCore

struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete containers with their config, snapshots and leases.",
        discussion: """
            Examples:
              sysbox delete web1
              sysbox delete web1 web2
              sysbox delete --force web1      # even when running
            """,
        aliases: ["rm"]
    )

    @Argument(help: "Containers to delete.")
    var names: [String]

    @Flag(name: .shortAndLong, help: "Kill running containers first.")
    var force = false

    func validate() throws {
        if names.isEmpty { throw ValidationError("give at least one container name") }
    }

    func run() throws {
        for name in names { try Names.validate(name, as: .container) }
        try CLI.manager().deleteContainers(names, force: force)
    }
}
