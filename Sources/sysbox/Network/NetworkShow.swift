import ArgumentParser
import SysboxCore

struct NetworkShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a network's config and users as YAML.",
        discussion: """
            Examples:
              sysbox network show sysboxbr0
            """)

    @Argument(help: "Network name.") var name: String

    func run() throws {
        CLI.out(try CLI.manager().networkDocument(name))
    }
}
