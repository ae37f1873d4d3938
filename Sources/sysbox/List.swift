import ArgumentParser
import Foundation
import SysboxCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List containers.",
        discussion: """
            Filters: a name prefix, or KEY=VALUE where KEY is status, image, profile, name or a config key. Config keys are matched against the expanded config, by type: security.nesting=false also matches containers where it is unset, 0, no or off, and limits.memory=1GiB matches 1024MiB. An empty value (user.role=) matches containers where the key is unset. Several filters must all match.

            --format json prints an array of objects with name, status, ipv4 (plain addresses), pid, image, profiles, snapshots, description, ephemeral, type, created_at and last_used_at (RFC 3339, UTC), and state: status, pid and network, one object per interface as LXD shapes it (addresses with family, address, netmask and scope; hwaddr; host_name; counters), null while the container is not running. Every key is always there (null when unset). csv keeps descriptions whole (quoted) and joins IPv4 addresses with commas.

            The table fits the terminal's width ($COLUMNS): a long NAME is cut first (to no less than 12 characters), then SNAPSHOTS, IMAGE, IPV4 and STATUS are left out in that order; an address is never cut.

            Examples:
              sysbox list
              sysbox list web --format json
              sysbox list status=stopped security.nesting=false --format csv
            """,
        aliases: ["ls"]
    )

    @Argument(help: "Filters: NAME-PREFIX or KEY=VALUE.")
    var filters: [String] = []

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let filters = try ContainerFilter.parse(filters)
        let manager = try CLI.manager()
        let views = try manager.listContainers().filter(filters.allMatch)
        let cells: [[TableCell]] = views.map { v in
            [.text(v.name), .text(v.status.rawValue.uppercased()), .list(v.ipv4), .text(v.record.image), .text(String(v.snapshots))]
        }
        var objects: [ContainerListEntry] = []
        if format.kind == .json || format.kind == .yaml {
            var prefixes: [String: String] = [:]
            for v in views {
                let nics = v.status == .running ? ((try? manager.nicStates(v.name)) ?? []) : []
                for nic in nics where prefixes[nic.network] == nil {
                    let address = (try? manager.networkConfig(nic.network))?["ipv4.address"] ?? ""
                    prefixes[nic.network] = address.split(separator: "/").dropFirst().first.map(String.init) ?? ""
                }
                objects.append(ContainerListEntry(v, nics: nics, prefixLength: prefixes))
            }
        }
        // NAME is cut (never below 12 characters); then SNAPSHOTS, IMAGE, IPV4, STATUS are left out.
        let fit = TableFit(cuttable: [0: 12], dropOrder: [4, 3, 2, 1])
        let text = try format.render(
            headers: ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"], cells: cells, objects: objects, width: CLI.tableWidth, fit: fit)
        if format.kind == .csv { CLI.outRaw(text) } else { CLI.out(text) }
    }
}
