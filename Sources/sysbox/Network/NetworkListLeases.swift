import ArgumentParser
import SysboxCore

struct NetworkListLeases: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list-leases", abstract: "List a network's IPv4 leases (one per container NIC).",
        discussion: """
            A lease is taken when a container's NIC first starts on the network and kept until the container is deleted; STATIC leases come from the NIC's ipv4.address.

            Examples:
              sysbox network list-leases sysboxbr0
              sysbox network list-leases sysboxbr0 --format csv
            """)

    @Argument(help: "Network name.", completion: .networks) var name: String
    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let leases = try CLI.manager().networkLeases(name)
        let cells: [[TableCell]] = leases.map { [.text($0.hostname), .text($0.device), .text($0.hwaddr), .text($0.address), .text($0.type)] }
        try CLI.printTable(format, headers: ["HOSTNAME", "DEVICE", "MAC ADDRESS", "IP ADDRESS", "TYPE"], cells: cells, objects: leases)
    }
}
