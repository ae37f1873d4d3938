import ArgumentParser
import SysboxCore

struct ProfileCopy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy", abstract: "Copy a profile to a new name.",
        discussion: """
            Example:
              sysbox profile copy default web
            """, aliases: ["cp"])

    @Argument(help: "Source profile.", completion: .profiles) var source: String
    @Argument(help: "New profile name.") var target: String

    func run() throws {
        try CLI.manager().copyProfile(source, to: target)
    }
}
