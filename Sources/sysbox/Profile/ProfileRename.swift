import ArgumentParser
import SysboxCore

struct ProfileRename: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rename", abstract: "Rename a profile (containers keep it under the new name).",
        discussion: """
            Example:
              sysbox profile rename small tiny
            """, aliases: ["mv"])

    @Argument(help: "Current name.", completion: .profiles) var source: String
    @Argument(help: "New name.") var target: String

    func run() throws {
        try CLI.manager().renameProfile(source, to: target)
        CLI.out("Profile \(source) renamed to \(target)\n")
    }
}
