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

    @Argument(help: "Containers to delete.", completion: .containers)
    var names: [String]

    @Flag(name: .shortAndLong, help: "Kill running containers first.")
    var force = false

    func run() throws {
        // Here, not in validate(): ArgumentParser reports a validate() error before an unknown option.
        if names.isEmpty { throw ValidationError("give at least one container name") }
        for name in names { try Names.validate(name, as: .container) }
        try CLI.manager().deleteContainers(names, force: force)
    }
}
