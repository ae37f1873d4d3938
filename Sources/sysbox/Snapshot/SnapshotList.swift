import ArgumentParser
import Foundation
import SysboxCore

struct SnapshotList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a container's snapshots, oldest first.",
        discussion: """
            --format json (or yaml) prints name, created_at, expires_at (RFC 3339 UTC; null when it does not expire) and size (bytes of its files); csv has the same bytes and times, the table IEC sizes (1.9MiB).

            Examples:
              sysbox snapshot list web1
              sysbox snapshot list web1 --format json
            """, aliases: ["ls"])

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let snapshots = try CLI.manager().listSnapshots(name)
        let cells: [[TableCell]] = snapshots.map { [.text($0.name), .time($0.createdAt), .time($0.expiresAt), .bytes($0.size)] }
        try CLI.printTable(format, headers: ["NAME", "TAKEN AT", "EXPIRES AT", "SIZE"], cells: cells, objects: snapshots.map(SnapshotListEntry.init))
    }
}
