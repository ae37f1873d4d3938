import ArgumentParser
import SysboxCore

struct ConfigShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a container's config and devices as YAML.",
        discussion: """
            Examples:
              sysbox config show web1
              sysbox config show web1 --expanded    # with its profiles applied
            """
    )

    @Argument(help: "Container name.") var name: String
    @Flag(name: .shortAndLong, help: "Show the config with the profiles applied.") var expanded = false

    func run() throws {
        CLI.out(YAMLDocs.container(try CLI.manager().containerView(name), expanded: expanded))
    }
}
