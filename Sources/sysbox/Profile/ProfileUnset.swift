import ArgumentParser
import SysboxCore

struct ProfileUnset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unset", abstract: "Remove config keys from a profile.",
        discussion: """
            Example:
              sysbox profile unset small limits.cpu
            """)

    @Argument(help: "Profile name.") var name: String
    @Argument(help: "Keys to remove.") var keys: [String] = []

    func run() throws {
        try CLI.manager().unsetConfig(.profile(name), keys)
    }
}
