import ArgumentParser
import SysboxCore

struct ConfigUnset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove config keys from a container.",
        discussion: """
            Examples:
              sysbox config unset web1 limits.memory
            """
    )

    @Argument(help: "Container name.") var name: String
    @Argument(help: "Keys to remove.") var keys: [String] = []

    func run() throws {
        try CLI.manager().unsetConfig(.container(name), keys)
    }
}
