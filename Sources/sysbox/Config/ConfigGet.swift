import ArgumentParser
import SysboxCore

struct ConfigGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get",
        abstract: "Print one config key of a container (an empty line when unset).",
        discussion: """
            Examples:
              sysbox config get web1 limits.memory
              sysbox config get web1 limits.memory --expanded
            """
    )

    @Argument(help: "Container name.") var name: String
    @Argument(help: "Config key.") var key: String
    @Flag(name: .shortAndLong, help: "Look the key up in the expanded config.") var expanded = false

    func run() throws {
        try InstanceConfig.validateKeyName(key)
        guard InstanceConfig.isKnown(key) else {
            throw SysboxError(.invalidArgument, "unknown config key \(key)\(InstanceConfig.suggestion(for: key))")
        }
        let layer = try CLI.manager().layer(of: .container(name), expanded: expanded)
        CLI.outRaw((layer.config[key] ?? "") + "\n")
    }
}
