import ArgumentParser
import SysboxCore

struct ProfileDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete profiles (not default, not while containers or snapshots use them).",
        discussion: """
            Every name is checked first (it exists, is not default, is used by no container and named by no snapshot, is given once); then all are deleted together, or none is.

            Examples:
              sysbox profile delete small
              sysbox profile delete medium nesting
            """, aliases: ["rm"])

    @Argument(help: "Profile names.") var names: [String] = []

    func validate() throws {
        if names.isEmpty { throw ValidationError("give at least one profile name") }
    }

    func run() throws {
        try CLI.manager().deleteProfiles(names)
        for name in names { CLI.out("Profile \(name) deleted\n") }
    }
}
