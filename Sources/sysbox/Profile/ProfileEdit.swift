import ArgumentParser
import SysboxCore

struct ProfileEdit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Edit a profile in $EDITOR, or replace it with YAML from standard input.",
        discussion: """
            On a terminal the profile opens in $VISUAL or $EDITOR; a file with errors is offered again.
            Otherwise the whole profile is read from standard input. Every container using the profile
            must stay valid, or nothing changes.

            Examples:
              sysbox profile edit small
              sysbox profile edit small < small.yaml
            """)

    @Argument(help: "Profile name.") var name: String

    func run() throws {
        let manager = try CLI.manager()
        let doc: ProfileDocument
        if CLI.stdinIsTerminal {
            let current = ProfileYAML.render(try manager.profileDocument(name))
            let header = "# Profile \(name): only description, config and devices. Save and quit to apply.\n"
            let edited = try CLI.edit(header + current) { text in
                try manager.updateProfile(name, try ProfileYAML.parse(text, file: "profile \(name)"))
            }
            _ = edited
            return
        } else {
            doc = try ProfileYAML.parse(try CLI.readStandardInput(), file: "<stdin>")
        }
        try manager.updateProfile(name, doc)
    }
}
