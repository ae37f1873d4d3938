import ArgumentParser
import SysboxCore

/// One change to a container's profile list: `profile add` or `profile remove`.
protocol ProfileListChange {
    static var commandName: String { get }
    static var help: VerbHelp { get }
    /// The new list; throws when the change cannot apply to `current`.
    static func apply(_ profile: String, to current: [String], of container: String) throws -> [String]
    /// What is printed once the change is made.
    static func done(_ profile: String, _ container: String) -> String
}

/// `profile add|remove CONTAINER PROFILE`.
struct ChangeProfiles<Change: ProfileListChange>: ParsableCommand {
    static var configuration: CommandConfiguration { Change.help.configuration(Change.commandName) }

    @Argument(help: "Container name.") var container: String
    @Argument(help: "Profile name.") var profile: String

    func run() throws {
        let manager = try CLI.manager()
        let current = try manager.profiles(of: container)
        try manager.assignProfiles(container: container, profiles: try Change.apply(profile, to: current, of: container))
        CLI.out(Change.done(profile, container))
    }
}

enum AddProfile: ProfileListChange {
    static let commandName = "add"
    static let help = VerbHelp(
        abstract: "Append a profile to a container's profile list (it applies last).",
        discussion: """
            Examples:
              sysbox profile add web1 small
            """)

    static func apply(_ profile: String, to current: [String], of container: String) throws -> [String] {
        if current.contains(profile) {
            throw SysboxError(.alreadyExists, "container \(container) already has profile \(profile)")
        }
        return current + [profile]
    }

    static func done(_ profile: String, _ container: String) -> String { "Profile \(profile) added to \(container)\n" }
}

enum RemoveProfile: ProfileListChange {
    static let commandName = "remove"
    static let help = VerbHelp(
        abstract: "Remove a profile from a container's profile list.",
        discussion: """
            Examples:
              sysbox profile add web1 small
              sysbox profile remove web1 small
            """)

    static func apply(_ profile: String, to current: [String], of container: String) throws -> [String] {
        guard current.contains(profile) else {
            throw SysboxError(.notFound, "container \(container) does not have profile \(profile) (it has: \(current.isEmpty ? "none" : current.joined(separator: ", ")))")
        }
        return current.filter { $0 != profile }
    }

    static func done(_ profile: String, _ container: String) -> String { "Profile \(profile) removed from \(container)\n" }
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
