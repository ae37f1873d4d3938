import ArgumentParser
import SysboxCore

struct ProfileList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List profiles with the number of containers using each.",
        discussion: "Examples:\n  sysbox profile list\n  sysbox profile list --format json", aliases: ["ls"])

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let profiles = try CLI.manager().listProfiles()
        let rows = profiles.map { [$0.name, $0.description, String($0.usedBy.count)] }
        CLI.out(try format.render(headers: ["NAME", "DESCRIPTION", "USED BY"], rows: rows,
                                  objects: profiles.map(ProfileListEntry.init), width: CLI.tableWidth))
    }
}
