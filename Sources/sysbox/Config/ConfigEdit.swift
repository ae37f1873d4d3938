import ArgumentParser
import SysboxCore

/// `config edit NAME`: a container's own description, config and devices, as `profile edit` edits a
/// profile (the same YAML, the same editor loop, the same whole-document validation).
struct ConfigEdit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Edit a container's own config and devices in $EDITOR, or replace them with YAML from standard input.",
        discussion: """
            The document has description, config and devices: the container's own, not those of its profiles (volatile.* keys are sysbox's state and are not shown; they stay as they are). On a terminal it opens in $VISUAL or $EDITOR; a file with errors is offered again, and saving an empty file aborts. Otherwise the whole document is read from standard input, and empty input is refused (to remove every key, give config: {}). The result is checked whole, with the container's profiles applied, or nothing changes. Devices and security.* keys of a running container apply at its next start.

            Examples:
              sysbox config edit web1
              printf 'config:\\n  limits.memory: 1GiB\\ndevices: {}\\n' | sysbox config edit web1
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String

    func run() throws {
        try Names.validate(name, as: .container)
        let manager = try CLI.manager()
        if CLI.stdinIsTerminal {
            let current = ProfileYAML.render(try manager.containerDocument(name))
            let header = "# Container \(name): its own description, config and devices (not its profiles'). Save and quit to apply; save an empty file to abort.\n"
            var notes: [String] = []
            _ = try CLI.edit(header + current) { text in
                notes = try manager.updateContainer(name, try ProfileYAML.parse(text, file: "container \(name)", kind: "container"))
            }
            for note in notes { CLI.note(note) }
            return
        }
        let text = try CLI.readStandardInput()
        if ProfileYAML.isEmptyDocument(text) {
            throw SysboxError(.invalidArgument, "<stdin>: empty input; nothing changed (to remove every key of \(name), give it an explicit document such as: config: {})")
        }
        for note in try manager.updateContainer(name, try ProfileYAML.parse(text, file: "<stdin>", kind: "container")) { CLI.note(note) }
    }
}
