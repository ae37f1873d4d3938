import ArgumentParser
import Foundation
import SysboxCore

struct StorageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage", abstract: "Show the storage driver and the space used.",
        subcommands: [StorageInfoCommand.self])
}

struct StorageInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Driver, space used by images, each container and each snapshot.",
        discussion: """
            Sizes are the bytes of the files each one holds of its own (overlay: a container's upper layer; btrfs: before sharing between snapshots). --format json (or yaml) prints driver, path, images, containers (name, used, snapshots with name, created_at, expires_at and size) and the filesystem's size and free space, all sizes in bytes; csv prints one row per images/container/snapshot: TYPE, CONTAINER, SNAPSHOT, BYTES.

            Examples:
              sysbox storage info
              sysbox storage info --format json
              sysbox storage info --format csv,noheader
            """)

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (csv takes ,noheader).") var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        if format.kind == .table && !format.header {
            throw SysboxError(.invalidArgument, "storage info prints no table header to leave out; use --format table, or csv,noheader for rows without one")
        }
        let info = try CLI.manager().storageInfo()
        switch format.kind {
        case .json:
            CLI.out(try OutputFormat.json(StorageInfoDocument(info)) + "\n")
        case .yaml:
            CLI.out(try OutputFormat.yaml(StorageInfoDocument(info)))
        case .csv:
            var rows = [["images", "", "", String(info.images)]]
            for c in info.containers {
                rows.append(["container", c.name, "", String(c.used)])
                rows += c.snapshots.map { ["snapshot", c.name, $0.name, String($0.size)] }
            }
            CLI.outRaw(TextTable.csv(headers: format.header ? ["TYPE", "CONTAINER", "SNAPSHOT", "BYTES"] : nil, rows: rows))
        case .table:
            var lines = [
                "Driver: \(info.driver)", "Path: \(info.path)",
                "Filesystem: \(humanBytes(info.filesystemFree)) free of \(humanBytes(info.filesystemSize))", "Images: \(humanBytes(info.images))"
            ]
            lines.append("Containers:")
            if info.containers.isEmpty { lines.append("  (none)") }
            for c in info.containers {
                lines.append("  \(c.name): \(humanBytes(c.used))")
                for s in c.snapshots { lines.append("    snapshot \(s.name): \(humanBytes(s.size))") }
            }
            CLI.out(lines.joined(separator: "\n") + "\n")
        }
    }
}
