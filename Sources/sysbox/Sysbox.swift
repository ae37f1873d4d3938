import ArgumentParser
import Foundation
import Logging

@main
struct Sysbox: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sysbox",
        abstract: "Manage system containers: full Linux systems with their own init, in the style of LXD and Incus.",
        discussion: """
            State lives in $SYSBOX_DIR (default /var/lib/sysbox): the SQLite database sysbox.db, images/ (built root filesystems) and containers/ (each container's files, console log and monitor state). SYSBOX_LOG=debug (or trace, info, notice, warning, error, critical) sets the level of logging on stderr.

            Examples:
              sysbox create busybox web1      # record a container (launch also starts it)
              sysbox list --format json       # list containers as JSON
              sysbox config set web1 limits.memory=1GiB
              sysbox profile show default
            """,
        version: "0.1.0",
        subcommands: [
            Launch.self, Create.self, Copy.self, Start.self, Stop.self, Restart.self, Delete.self, Rename.self, List.self, Info.self,
            Exec.self, Shell.self, Wait.self, Console.self, ConfigCommand.self, ProfileCommand.self, SnapshotCommand.self, FileCommand.self, StorageCommand.self,
            NetworkCommand.self, ScheduleCommand.self, ImageCommand.self,
            MonitorCommand.self, MonitorResumeCommand.self, NetworkMonitorCommand.self
        ]
    )

    static func main() {
        let level = Logger.Level(rawValue: ProcessInfo.processInfo.environment["SYSBOX_LOG"] ?? "") ?? .warning
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}
