import ArgumentParser
import SysboxCore

struct ConfigSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set config keys of a container.",
        discussion: """
            All keys are checked before any is written; volatile.* keys are read-only.

            Examples:
              sysbox config set web1 limits.memory=1GiB
              sysbox config set web1 limits.cpu=0-1 environment.TZ=UTC
              sysbox config set web1 limits.processes 500
            """
    )

    @Argument(help: "Container name.") var name: String
    @Argument(help: "KEY=VALUE pairs (or KEY VALUE).") var assignments: [String] = []

    func run() throws {
        try CLI.manager().setConfig(.container(name), try CLI.setArguments(assignments))
    }
}
