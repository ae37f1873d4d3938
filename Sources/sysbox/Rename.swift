import ArgumentParser
import SysboxCore

struct Rename: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename",
        abstract: "Rename a stopped container.",
        discussion: """
            Examples:
              sysbox rename web1 web2
            """,
        aliases: ["mv"])

    @Argument(help: "Current name.", completion: .containers) var name: String
    @Argument(help: "New name.") var newName: String

    func run() throws {
        try CLI.manager().renameContainer(name, to: newName)
        CLI.out("Container \(name) renamed to \(newName)\n")
    }
}
