import ArgumentParser
import SysboxCore

struct ProfileSet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set config keys of a profile.",
        discussion: """
            All keys are checked before any is written, and every container using the profile must stay valid.

            Examples:
              sysbox profile set small limits.memory=768MiB limits.cpu=1
              sysbox profile set small limits.processes 200
            """)

    @Argument(help: "Profile name.") var name: String
    @Argument(help: "KEY=VALUE pairs (or KEY VALUE).") var assignments: [String] = []

    func run() throws {
        try CLI.manager().setConfig(.profile(name), try CLI.setArguments(assignments))
    }
}
