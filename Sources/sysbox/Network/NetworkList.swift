import ArgumentParser
import SysboxCore

struct NetworkList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List networks.",
        discussion: """
            STATE is UP when the network's bridge exists on this host, DOWN when it does not (it is recreated when a container on it starts). --format json prints name, type, managed, ipv4, nat, description, used_by and state.

            Examples:
              sysbox network list
              sysbox network list --format json
            """, aliases: ["ls"])

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let networks = try CLI.manager().listNetworks()
        let cells: [[TableCell]] = networks.map {
            [.text($0.name), .text($0.type), .text("YES"), .text($0.ipv4), .text($0.description), .text(String($0.usedBy.count)), .text($0.state)]
        }
        let text = try format.render(headers: ["NAME", "TYPE", "MANAGED", "IPV4", "DESCRIPTION", "USED BY", "STATE"], cells: cells,
                                     objects: networks, width: CLI.tableWidth)
        if format.kind == .csv { CLI.outRaw(text) } else { CLI.out(text) }
    }
}
