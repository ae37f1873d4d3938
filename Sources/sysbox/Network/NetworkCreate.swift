import ArgumentParser
import SysboxCore

struct NetworkCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a network and bring it up (bridge, address, NAT, dnsmasq).",
        discussion: """
            The name is the bridge's interface name (at most 15 characters) and must not be taken on this host. ipv4.address=auto (the default) picks a free /24 in 10.0.0.0/8 that overlaps no route or address of the host; a given subnet must not overlap them either.

            Examples:
              sysbox network create lab
              sysbox network create lab2 ipv4.address=10.0.9.1/24 ipv4.nat=false
              sysbox network create lab3 dns.domain=lab --description "Lab machines"
            """)

    @Argument(help: "Network name.") var name: String
    @Argument(help: "KEY=VALUE pairs.") var assignments: [String] = []
    @Option(help: "Description.") var description: String = ""

    func run() throws {
        try CLI.manager().createNetwork(name, config: try CLI.pairs(assignments), description: description)
        CLI.out("Network \(name) created\n")
    }
}
