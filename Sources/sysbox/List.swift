import ArgumentParser
import Foundation
import SysboxCore

struct List: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List containers.",
        discussion: """
            Filters: a name prefix, or KEY=VALUE where KEY is status, image, profile or a config key
            (matched against the expanded config). Several filters must all match.

            --format json prints an array of objects with name, status, ipv4, pid, image, profiles,
            snapshots, description, ephemeral, type, created_at and last_used_at.

            Examples:
              sysbox list
              sysbox list web --format json
              sysbox list status=stopped limits.memory=1GiB --format csv
            """,
        aliases: ["ls"]
    )

    @Argument(help: "Filters: NAME-PREFIX or KEY=VALUE.")
    var filters: [String] = []

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        for filter in filters {
            guard let eq = filter.firstIndex(of: "=") else { continue }
            let key = String(filter[..<eq])
            guard ["status", "state", "image", "profile", "name"].contains(key) || InstanceConfig.isKnown(key) else {
                throw SysboxError(.invalidArgument, "unknown filter key \(key)\(InstanceConfig.suggestion(for: key)); use status, image, profile, name or a config key")
            }
        }
        let views = try CLI.manager().listContainers().filter { view in filters.allSatisfy { Self.matches(view, $0) } }
        let rows = views.map { v in
            [v.name, v.status.rawValue.uppercased(), v.ipv4.joined(separator: "\n"), v.record.image, String(v.snapshots)]
        }
        CLI.out(try format.render(headers: ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"], rows: rows,
                                  objects: views.map(ContainerListEntry.init), width: CLI.tableWidth))
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
            return (view.expanded.config[key] ?? InstanceConfig.defaultValue(key)) == value
        }
    }
}
