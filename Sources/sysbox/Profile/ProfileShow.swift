import ArgumentParser
import SysboxCore

struct ProfileShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a profile as YAML (the format create and edit read).",
        discussion: """
            Examples:
              sysbox profile show default
              sysbox profile show small > small.yaml
            """)

    @Argument(help: "Profile name.") var name: String

    func run() throws {
        CLI.out(ProfileYAML.render(try CLI.manager().profileDocument(name)))
    }
}
