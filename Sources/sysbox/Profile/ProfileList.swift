import ArgumentParser
import SysboxCore

struct ProfileList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List profiles with the number of containers using each.",
        discussion: """
            --format json prints an array of objects with name, description and used_by (the containers using the profile).

            Examples:
              sysbox profile list
              sysbox profile list --format json
            """, aliases: ["ls"])

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let profiles = try CLI.manager().listProfiles()
        let cells: [[TableCell]] = profiles.map { [.text($0.name), .text($0.description), .text(String($0.usedBy.count))] }
        let text = try format.render(headers: ["NAME", "DESCRIPTION", "USED BY"], cells: cells,
                                     objects: profiles.map(ProfileListEntry.init), width: CLI.tableWidth)
        // CSV is data and stays exact (a description is one quoted field); tables escape control characters.
        if format.kind == .csv { CLI.outRaw(text) } else { CLI.out(text) }
    }
}
