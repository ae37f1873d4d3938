import ArgumentParser
import Foundation
import SysboxCore

struct Autostart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autostart",
        abstract: "Start the containers that start at boot (sysbox.service runs this at boot).",
        discussion: """
            Starts every stopped container with boot.autostart=true and, when boot.autostart is unset, those that were running at the last `sysbox shutdown` (volatile.last_state.power=RUNNING, as in LXD) or when the host lost power (recorded running, nothing of it left); boot.autostart=false never starts. Higher boot.autostart.priority first; within a priority at most --parallel at once, and a container's slot waits its boot.autostart.delay seconds after its start. Prints one line per container (NAME: started, NAME: failed: REASON, NAME: already running); a failure does not stop the others, its reason stays in `sysbox info NAME`, and the exit status is 1 when any failed.

            Examples:
              sysbox autostart
              sysbox autostart --parallel 8
            """)

    @Option(help: "Containers started at once within a priority.") var parallel = 4

    func validate() throws {
        if parallel < 1 { throw ValidationError("--parallel must be 1 or more") }
    }

    func run() throws {
        let results = try CLI.manager().hostBoot.autostart(parallel: parallel) { CLI.out($0.line + "\n") }
        if results.contains(where: \.failed) { throw ExitCode(1) }
    }
}
