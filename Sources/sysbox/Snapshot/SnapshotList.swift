import ArgumentParser
import Foundation
import SysboxCore

struct SnapshotList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a container's snapshots, oldest first.",
        discussion: """
            --format json prints name, created_at, expires_at and size (bytes of its files).

            Examples:
              sysbox snapshot list web1
              sysbox snapshot list web1 --format json
            """, aliases: ["ls"])

    @Argument(help: "Container name.") var name: String
    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let snapshots = try CLI.manager().listSnapshots(name)
        let f = DateFormatter()
        f.dateFormat = "yyyy/MM/dd HH:mm 'UTC'"
        f.timeZone = TimeZone(identifier: "UTC")
        let cells: [[TableCell]] = snapshots.map {
            [
                .text($0.name), .text(f.string(from: $0.createdAt)), .text($0.expiresAt.map { f.string(from: $0) } ?? ""),
                .text(humanBytes($0.size))
            ]
        }
        try CLI.printTable(format, headers: ["NAME", "TAKEN AT", "EXPIRES AT", "SIZE"], cells: cells, objects: snapshots)
    }
}
