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
            Sizes are the bytes of the files each one holds of its own (overlay: a container's upper layer; btrfs: before sharing between snapshots). --format json prints driver, path, images, containers (name, used, snapshots) and the filesystem's size and free space.

            Examples:
              sysbox storage info
              sysbox storage info --format json
            """)

    @Option(name: [.short, .customLong("format")], help: "table or json.") var format: String = "table"

    func run() throws {
        guard format == "table" || format == "json" else { throw SysboxError(.invalidArgument, "unknown format \(Names.quote(format)); use table or json") }
        let info = try CLI.manager().storageInfo()
        if format == "json" {
            CLI.out(try OutputFormat.json(info) + "\n")
            return
        }
        func mib(_ b: UInt64) -> String { humanBytes(b) }
        var lines = ["Driver: \(info.driver)", "Path: \(info.path)",
                     "Filesystem: \(mib(info.filesystemFree)) free of \(mib(info.filesystemSize))", "Images: \(mib(info.images))"]
        lines.append("Containers:")
        if info.containers.isEmpty { lines.append("  (none)") }
        for c in info.containers {
            lines.append("  \(c.name): \(mib(c.used))")
            for s in c.snapshots { lines.append("    snapshot \(s.name): \(mib(s.size))") }
        }
        CLI.out(lines.joined(separator: "\n") + "\n")
    }
}
