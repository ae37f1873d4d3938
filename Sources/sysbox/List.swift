import ArgumentParser
import Foundation
import SysboxCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List containers.",
        discussion: """
            Filters: a name prefix, or KEY=VALUE where KEY is status, image, profile, name or a config key. As in LXD, a filter or value with regex syntax is a regular expression over the whole name or value (web.*1, user.role=front.*); with ^ or $ in it, it is matched as written. Config keys are matched against the expanded config, by type: security.nesting=false also matches containers where it is unset, 0, no or off, and limits.memory=1GiB matches 1024MiB. An empty value (user.role=) matches containers where the key is unset. Several filters must all match.

            --format json prints an array of objects with name, status, ipv4 (plain addresses), pid, image, profiles, snapshots, description, ephemeral, type, created_at and last_used_at (RFC 3339, UTC), and state: status, pid and network, one object per interface as LXD shapes it (addresses with family, address, netmask and scope; hwaddr; host_name; counters), null while the container is not running. Every key is always there (null when unset). csv keeps descriptions whole (quoted) and joins IPv4 addresses with commas.

            The table fits the terminal's width ($COLUMNS): a long NAME is cut first (to no less than 12 characters), then SNAPSHOTS, IMAGE, IPV4 and STATUS are left out in that order (with -c: the columns from the right); an address is never cut.

            -c (--columns) chooses the table's and csv's columns with LXD's letters, in order: n name, s status, 4 IPv4, 6 IPv6 (always empty: no IPv6 yet), t type, S snapshots, c created at, d description, l last used at, p PID, P profiles, m memory usage, u CPU usage, N processes, f image (LXD's base image). The default is n s 4 f S.

            Examples:
              sysbox list
              sysbox list -c nsPmN
              sysbox list web --format json
              sysbox list status=stopped security.nesting=false --format csv
            """,
        aliases: ["ls"]
    )

    @Argument(help: "Filters: NAME-PREFIX or KEY=VALUE.")
    var filters: [String] = []

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    @Option(name: [.short, .customLong("columns")], help: "Columns of the table and csv, as LXD's letters (default ns4fS).")
    var columns: String?

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let filters = try ContainerFilter.parse(filters)
        let manager = try CLI.manager()
        let chosen = try columns.map(ListColumn.parse) ?? ListColumn.defaults
        let views = try manager.listContainers().filter(filters.allMatch)
        let wantsStats = chosen.contains(where: \.needsStats)
        let cells: [[TableCell]] = views.map { v in
            let stats = wantsStats && v.status.isLive ? manager.stats(v.name) : nil
            return chosen.map { $0.cell(v, stats: stats) }
        }
        var objects: [ContainerListEntry] = []
        if format.kind == .json || format.kind == .yaml {
            var prefixes: [String: String] = [:]
            for v in views {
                let nics = v.status.isLive ? ((try? manager.nicStates(v.name)) ?? []) : []
                for nic in nics where prefixes[nic.network] == nil {
                    let address = (try? manager.networkConfig(nic.network))?["ipv4.address"] ?? ""
                    prefixes[nic.network] = address.split(separator: "/").dropFirst().first.map(String.init) ?? ""
                }
                objects.append(ContainerListEntry(v, nics: nics, prefixLength: prefixes))
            }
        }
        // NAME is cut (never below 12 characters); then the columns right of it are left out, the last
        // first (by default SNAPSHOTS, IMAGE, IPV4, STATUS).
        let nameColumn = chosen.firstIndex(of: .name)
        let fit = TableFit(
            cuttable: nameColumn.map { [$0: 12] } ?? [:], dropOrder: chosen.indices.reversed().filter { $0 != nameColumn && $0 != 0 })
        let text = try format.render(
            headers: chosen.map(\.header), cells: cells, objects: objects, width: CLI.tableWidth, fit: fit)
        if format.kind == .csv { CLI.outRaw(text) } else { CLI.out(text) }
    }
}
