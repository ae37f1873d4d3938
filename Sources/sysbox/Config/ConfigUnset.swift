import ArgumentParser
import SysboxCore

struct ConfigUnset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset",
        abstract: "Remove config keys from a container.",
        discussion: """
            Every key must be set on the container itself (keys from its profiles are changed there, or overridden with config set).

            Examples:
              sysbox config set web1 limits.memory=1GiB user.role=web
              sysbox config unset web1 limits.memory user.role
            """
    )

    @Argument(help: "Container name.") var name: String
    @Argument(help: "Keys to remove.") var keys: [String] = []

    func run() throws {
        try CLI.manager().unsetConfig(.container(name), keys)
    }
}
