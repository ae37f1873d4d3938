import ArgumentParser
import SysboxCore

struct NetworkGet: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Print the value of one network key (empty when unset).",
        discussion: """
            Examples:
              sysbox network get sysboxbr0 ipv4.address
            """)

    @Argument(help: "Network name.") var name: String
    @Argument(help: "Key.") var key: String

    func run() throws {
        try NetworkConfig.validateKey(key)
        let config = try CLI.manager().networkConfig(name)
        CLI.outRaw((config[key] ?? "") + "\n")
    }
}
