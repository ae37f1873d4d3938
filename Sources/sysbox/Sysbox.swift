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
            Launch.self, Create.self, Copy.self, Start.self, Stop.self, Restart.self, Pause.self, Resume.self, Delete.self, Rename.self, List.self, Info.self,
            Exec.self, Shell.self, Wait.self, Console.self, ConfigCommand.self, ProfileCommand.self, SnapshotCommand.self, FileCommand.self, StorageCommand.self,
            NetworkCommand.self, ScheduleCommand.self, ImageCommand.self, Autostart.self, Shutdown.self, Version.self,
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
        if let message = UnknownCommand.message(Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        }
        let parsed: ParsableCommand
        do {
            parsed = try parseAsRoot()
        } catch {
            if let message = UnknownCommand.execOptionMessage(Array(CommandLine.arguments.dropFirst()), parserMessage: Sysbox.message(for: error)) {
                FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
            exit(withError: error)
        }
        var command = parsed
        do {
            try command.run()
        } catch let error as ValidationError {
            // A usage error a command reports from run() (e.g. no names given: not from validate(), which
            // ArgumentParser would report before an unknown option), with that command's usage.
            let usage = usageString(for: type(of: command))
            let path = usage.prefix { $0 != "[" && $0 != "<" && $0 != "\n" }.split(separator: " ").filter { !$0.hasPrefix("-") }.joined(separator: " ")
            FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usage)\n  See '\(path) --help' for more information.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
