import ArgumentParser
import Foundation
import SysboxCore

struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown",
        abstract: "Stop every running container cleanly for a host shutdown (sysbox.service runs this when the host stops).",
        discussion: """
            Records volatile.last_state.power (RUNNING or STOPPED) of every container, for `sysbox autostart`, then stops the running ones: higher boot.stop.priority first, all of a priority at once, each with its image's stop signal and, after its boot.host_shutdown_timeout seconds (default 30), SIGKILL. Prints one line per container (NAME: stopped, NAME: killed (SIGKILL) after N s …, NAME: failed: REASON); exits 1 when a stop failed.

            Examples:
              sysbox shutdown
              sysbox config set db boot.stop.priority=-10        # stop db after the others
              sysbox profile set default boot.host_shutdown_timeout=60
            """)

    func run() throws {
        let results = try CLI.manager().hostBoot.shutdown { CLI.out($0.line + "\n") }
        if results.contains(where: \.failed) { throw ExitCode(1) }
    }
}
