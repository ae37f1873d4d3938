import ArgumentParser
import SysboxCore

struct NetworkUnset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset", abstract: "Unset network keys (back to their defaults).",
        discussion: """
            Examples:
              sysbox network unset lab ipv4.nat
            """)

    @Argument(help: "Network name.") var name: String
    @Argument(help: "Keys.") var keys: [String] = []

    func validate() throws {
        if keys.isEmpty { throw ValidationError("give at least one key") }
    }

    func run() throws {
        for note in try CLI.manager().unsetNetwork(name, keys) { CLI.note(note) }
    }
}
