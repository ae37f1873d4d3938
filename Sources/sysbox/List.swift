import ArgumentParser
import Foundation
import SysboxCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List containers.",
        discussion: """
            Filters: a name prefix, or KEY=VALUE where KEY is status, image, profile, name or a config key. Config keys are matched against the expanded config, by type: security.nesting=false also matches containers where it is unset, 0, no or off, and limits.memory=1GiB matches 1024MiB. An empty value (user.role=) matches containers where the key is unset. Several filters must all match.

            --format json prints an array of objects with name, status, ipv4, pid, image, profiles, snapshots, description, ephemeral, type, created_at and last_used_at. csv keeps descriptions whole (quoted) and joins IPv4 addresses with commas.

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
        let views = try CLI.manager().listContainers().filter(filters.allMatch)
        let cells: [[TableCell]] = views.map { v in
            [.text(v.name), .text(v.status.rawValue.uppercased()), .list(v.ipv4), .text(v.record.image), .text(String(v.snapshots))]
        }
        try CLI.printTable(format, headers: ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"], cells: cells, objects: views.map(ContainerListEntry.init))
    }
}
