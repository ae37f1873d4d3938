import ArgumentParser
import SysboxCore

struct ProfileEdit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Edit a profile in $EDITOR, or replace it with YAML from standard input.",
        discussion: """
            On a terminal the profile opens in $VISUAL or $EDITOR; a file with errors is offered again, and saving an empty file aborts. Otherwise the whole profile is read from standard input, and empty input is refused (to empty a profile, give description: "" or config: {}). Every container using the profile must stay valid, or nothing changes.

            Examples:
              sysbox profile edit small
              sysbox profile show small > small.yaml
              sysbox profile edit small < small.yaml
            """)

    @Argument(help: "Profile name.", completion: .profiles) var name: String

    func run() throws {
        try Names.validate(name, as: .profile)
        let manager = try CLI.manager()
        if CLI.stdinIsTerminal {
            let current = ProfileYAML.render(try manager.profileDocument(name))
            let header = "# Profile \(name): only description, config and devices. Save and quit to apply; save an empty file to abort.\n"
            var notes: [String] = []
            _ = try CLI.edit(header + current) { text in
                notes = try manager.updateProfile(name, try ProfileYAML.parse(text, file: "profile \(name)"))
            }
            for note in notes { CLI.note(note) }
            return
        }
        let text = try CLI.readStandardInput()
        if ProfileYAML.isEmptyDocument(text) {
            throw SysboxError(.invalidArgument, "<stdin>: empty input; nothing changed (to empty profile \(name), give it an explicit document such as: config: {})")
        }
        for note in try manager.updateProfile(name, try ProfileYAML.parse(text, file: "<stdin>")) { CLI.note(note) }
    }
}
