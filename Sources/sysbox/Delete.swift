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
            """,
        aliases: ["rm"]
    )

    @Argument(help: "Containers to delete.")
    var names: [String]

    func validate() throws {
        if names.isEmpty { throw ValidationError("give at least one container name") }
    }

    func run() throws {
        for name in names { try Names.validate(name, as: .container) }
        try CLI.manager().deleteContainers(names)
    }
}
