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

    static let fields = ["status", "state", "image", "profile", "name"]
    static let statuses = ["running", "stopped", "frozen", "error"]

    func run() throws {
        let format = try OutputFormat(parsing: format)
        for filter in filters {
            guard let eq = filter.firstIndex(of: "=") else { continue }
            let key = String(filter[..<eq]), value = String(filter[filter.index(after: eq)...])
            switch key {
            case "status", "state":
                guard Self.statuses.contains(value.lowercased()) else {
                    throw SysboxError(.invalidArgument, "unknown status \(Names.quote(value)) in filter \(key)\(Suggest.hint(value.lowercased(), Self.statuses, then: "use running, stopped, frozen or error"))")
                }
            case "image", "profile", "name":
                break
            default:
                try InstanceConfig.validateFilter(key, value)
            }
        }
        let views = try CLI.manager().listContainers().filter { view in filters.allSatisfy { Self.matches(view, $0) } }
        let cells: [[TableCell]] = views.map { v in
            [.text(v.name), .text(v.status.rawValue.uppercased()), .list(v.ipv4), .text(v.record.image), .text(String(v.snapshots))]
        }
        let text = try format.render(headers: ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"], cells: cells,
                                     objects: views.map(ContainerListEntry.init), width: CLI.tableWidth)
        // CSV is data and stays exact; tables, JSON and YAML carry no raw control characters anyway.
        if format.kind == .csv { CLI.outRaw(text) } else { CLI.out(text) }
    }

    static func matches(_ view: ContainerView, _ filter: String) -> Bool {
        guard let eq = filter.firstIndex(of: "=") else { return view.name.hasPrefix(filter) }
        let key = String(filter[..<eq]), value = String(filter[filter.index(after: eq)...])
        switch key {
        case "status", "state": return view.status.rawValue.lowercased() == value.lowercased()
        case "image": return view.record.image == value
        case "profile": return view.profiles.contains(value)
        case "name": return view.name == value
        default:
            return InstanceConfig.filterMatches(key, wanted: value, actual: view.expanded.config[key])
        }
    }
}
