import ArgumentParser
import SysboxCore

struct ProfileCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a profile, empty or from YAML (--file, or standard input).",
        discussion: """
            With --file the profile is read from that file (which must not be empty); otherwise, when standard input is not a terminal, from standard input (empty input makes an empty profile). The description is one line of text.

            Examples:
              sysbox profile create web
              sysbox profile show small > small.yaml
              sysbox profile create tiny --file small.yaml --description "A copy of small"
              sysbox profile show small | sysbox profile create small2
            """)

    @Argument(help: "Profile name.") var name: String
    @Option(name: .shortAndLong, help: "Read the profile from this YAML file.") var file: String?
    @Option(help: "Description (overrides the file's).") var description: String?

    func run() throws {
        try Names.validate(name, as: .profile)
        if let description { try Names.validateDescription(description, of: "profile \(name)") }
        var doc = ProfileDocument()
        if let file {
            doc = try ProfileYAML.parse(try CLI.readFile(file), file: file)
        } else if !CLI.stdinIsTerminal {
            doc = try ProfileYAML.parse(try CLI.readStandardInput(), file: "<stdin>")
        }
        if let description { doc.description = description }
        try CLI.manager().createProfile(name, doc)
        CLI.out("Profile \(name) created\n")
    }
}
