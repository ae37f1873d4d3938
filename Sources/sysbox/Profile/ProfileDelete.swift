import ArgumentParser
import SysboxCore

struct ProfileDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete profiles (not default, not while containers use them).",
        discussion: "Example:\n  sysbox profile delete small", aliases: ["rm"])

    @Argument(help: "Profile names.") var names: [String] = []

    func validate() throws {
        if names.isEmpty { throw ValidationError("give at least one profile name") }
    }

    func run() throws {
        let manager = try CLI.manager()
        for name in names {
            try manager.deleteProfile(name)
            CLI.out("Profile \(name) deleted\n")
        }
    }
}
