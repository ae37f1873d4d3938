import ArgumentParser
import SysboxStore

/// `sysbox version`: as `lxc version` (which prints the client and the server version), the version of
/// this sysbox and of the database schema it writes.
struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version", abstract: "Show the version of sysbox and of its database schema.",
        discussion: """
            Examples:
              sysbox version
              sysbox --version     # the version alone
            """)

    func run() throws {
        let schema = Schema.versions.count
        CLI.out("Client version: \(Sysbox.configuration.version)\nSchema version: \(schema) (\(Schema.versions[schema - 1]))\n")
    }
}
