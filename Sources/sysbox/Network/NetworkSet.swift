import ArgumentParser
import SysboxCore

struct NetworkSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set network keys and apply them on the host.",
        discussion: """
            All keys are checked before any is written. A new ipv4.address is refused while containers on the network run; stopped ones get an address in the new subnet at their next start.

            Examples:
              sysbox network set lab ipv4.nat=false
              sysbox network set lab dns.domain=lab
              sysbox network set lab ipv4.address 10.0.7.1/24
            """)

    @Argument(help: "Network name.") var name: String
    @Argument(help: "KEY=VALUE pairs (or KEY VALUE).") var assignments: [String] = []

    func validate() throws {
        if assignments.isEmpty { throw ValidationError("give at least one KEY=VALUE") }
    }

    func run() throws {
        for note in try CLI.manager().setNetwork(name, try CLI.setArguments(assignments)) { CLI.note(note) }
    }
}
