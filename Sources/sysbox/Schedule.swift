import ArgumentParser
import Foundation
import SysboxCore

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Run scheduled work (snapshots.schedule and retention); meant for a timer.",
        discussion: """
            contrib/systemd/sysbox-schedule.timer runs `sysbox schedule run` every minute (or use cron: `* * * * * root sysbox schedule run`).

            Examples:
              sysbox schedule run
            """,
        subcommands: [ScheduleRun.self]
    )
}

struct ScheduleRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Take the snapshots that are due and apply retention, once.",
        discussion: """
            A container's snapshot is due when its snapshots.schedule fired since its last scheduled snapshot (looking back 24 hours at most: a host that was off takes one, not one per missed slot). @startup entries are taken by start, not here. Prints one line per snapshot taken or deleted; exits 1 when a snapshot failed.

            Examples:
              sysbox schedule run
              sysbox schedule run --at 2026-12-01T03:00:00Z
            """)

    @Option(help: ArgumentHelp("Run as if it were this time (ISO 8601), to try a schedule.", valueName: "time")) var at: String?

    func run() throws {
        var now = Date()
        if let at {
            guard let date = ISO8601DateFormatter().date(from: at) else {
                throw SysboxError(.invalidArgument, "--at expects an ISO 8601 time like 2026-12-01T03:00:00Z, got \(Names.quote(at))")
            }
            now = date
        }
        let lines = try CLI.manager().runSchedule(now: now)
        for line in lines where !line.hasPrefix("error: ") { CLI.out(line + "\n") }
        let errors = lines.filter { $0.hasPrefix("error: ") }
        for line in errors { CLI.error(String(line.dropFirst("error: ".count))) }
        if !errors.isEmpty { throw ExitCode(1) }
    }
}
