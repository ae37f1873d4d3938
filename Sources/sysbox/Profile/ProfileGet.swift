import ArgumentParser
import SysboxCore

struct ProfileGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print one config key of a profile (an empty line when unset).",
        discussion: """
            Example:
              sysbox profile get small limits.memory
            """)

    @Argument(help: "Profile name.") var name: String
    @Argument(help: "Config key.") var key: String

    func run() throws {
        try InstanceConfig.validateKeyName(key)
        guard InstanceConfig.isKnown(key) else {
            throw SysboxError(.invalidArgument, "unknown config key \(key)\(InstanceConfig.suggestion(for: key))")
        }
        CLI.outRaw((try CLI.manager().layer(of: .profile(name)).config[key] ?? "") + "\n")
    }
}
