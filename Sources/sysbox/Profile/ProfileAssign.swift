import ArgumentParser
import SysboxCore

struct ProfileAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Append a profile to a container's profile list (it applies last).",
        discussion: """
            Examples:
              sysbox profile add web1 small
            """)

    @Argument(help: "Container name.") var container: String
    @Argument(help: "Profile name.") var profile: String

    func run() throws {
        let manager = try CLI.manager()
        let current = try manager.profiles(of: container)
        if current.contains(profile) {
            throw SysboxError(.alreadyExists, "container \(container) already has profile \(profile)")
        }
        try manager.assignProfiles(container: container, profiles: current + [profile])
        CLI.out("Profile \(profile) added to \(container)\n")
    }
}

struct ProfileRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a profile from a container's profile list.",
        discussion: """
            Examples:
              sysbox profile add web1 small
              sysbox profile remove web1 small
            """)

    @Argument(help: "Container name.") var container: String
    @Argument(help: "Profile name.") var profile: String

    func run() throws {
        let manager = try CLI.manager()
        let current = try manager.profiles(of: container)
        guard current.contains(profile) else {
            throw SysboxError(.notFound, "container \(container) does not have profile \(profile) (it has: \(current.isEmpty ? "none" : current.joined(separator: ", ")))")
        }
        try manager.assignProfiles(container: container, profiles: current.filter { $0 != profile })
        CLI.out("Profile \(profile) removed from \(container)\n")
    }
}

struct ProfileAssign: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assign", abstract: "Replace a container's whole profile list (comma-separated, in apply order).",
        discussion: """
            An empty list ('') removes every profile; the container then needs its own root disk (a disk device with path /).

            Examples:
              sysbox profile assign web1 default,small
              sysbox profile assign web1 default
            """)

    @Argument(help: "Container name.") var container: String
    @Argument(help: "Profiles, comma-separated.") var profiles: String

    func run() throws {
        let names = profiles.split(separator: ",", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        try CLI.manager().assignProfiles(container: container, profiles: names)
        CLI.out("Profiles \(names.isEmpty ? "(none)" : names.joined(separator: ", ")) applied to \(container)\n")
    }
}
