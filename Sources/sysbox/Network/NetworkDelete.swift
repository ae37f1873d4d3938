import ArgumentParser
import SysboxCore

struct NetworkDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete networks no container or profile uses.",
        discussion: """
            The bridge, its firewall table and its dnsmasq go with it. Every name is checked first; a network in use is refused with the names of its users.

            Examples:
              sysbox network delete lab
            """, aliases: ["rm"])

    @Argument(help: "Network names.") var names: [String] = []

    func validate() throws {
        if names.isEmpty { throw ValidationError("give at least one network name") }
    }

    func run() throws {
        try CLI.manager().deleteNetworks(names)
        for name in names { CLI.out("Network \(name) deleted\n") }
    }
}
