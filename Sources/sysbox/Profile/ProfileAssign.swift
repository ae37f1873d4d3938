import ArgumentParser
import SysboxCore

/// One change to a container's profile list: `profile add` or `profile remove`.
enum ProfileChange: String {
    case add, remove

    var help: VerbHelp {
        switch self {
        case .add:
            VerbHelp(
                "Append a profile to a container's profile list (it applies last).",
                """
                Examples:
                  sysbox profile add web1 small
                """)
        case .remove:
            VerbHelp(
                "Remove a profile from a container's profile list.",
                """
                Examples:
                  sysbox profile add web1 small
                  sysbox profile remove web1 small
                """)
        }
    }

    /// The new list; throws when the change cannot apply to `current`.
    func apply(_ profile: String, to current: [String], of container: String) throws -> [String] {
        switch self {
        case .add:
            if current.contains(profile) {
                throw SysboxError(.alreadyExists, "container \(container) already has profile \(profile)")
            }
            return current + [profile]
        case .remove:
            guard current.contains(profile) else {
                throw SysboxError(.notFound, "container \(container) does not have profile \(profile) (it has: \(current.isEmpty ? "none" : current.joined(separator: ", ")))")
            }
            return current.filter { $0 != profile }
        }
    }

    /// What is printed once the change is made.
    func done(_ profile: String, _ container: String) -> String {
        switch self {
        case .add: "Profile \(profile) added to \(container)\n"
        case .remove: "Profile \(profile) removed from \(container)\n"
        }
    }
}

/// The type that picks a `ProfileChange` for `ChangeProfiles` (a command type per change).
protocol ProfileChangeKind {
    static var change: ProfileChange { get }
}

enum AddProfile: ProfileChangeKind { static let change = ProfileChange.add }
enum RemoveProfile: ProfileChangeKind { static let change = ProfileChange.remove }

/// `profile add|remove CONTAINER PROFILE`.
struct ChangeProfiles<Kind: ProfileChangeKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.change.help.configuration(Kind.change.rawValue) }

    @Argument(help: "Container name.", completion: .containers) var container: String
    @Argument(help: "Profile name.", completion: .profiles) var profile: String

    func run() throws {
        let manager = try CLI.manager()
        let current = try manager.profiles(of: container)
        let notes = try manager.assignProfiles(container: container, profiles: try Kind.change.apply(profile, to: current, of: container))
        CLI.out(Kind.change.done(profile, container))
        for note in notes { CLI.note(note) }
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

    @Argument(help: "Container name.", completion: .containers) var container: String
    @Argument(help: "Profiles, comma-separated.") var profiles: String

    func run() throws {
        let names = profiles.split(separator: ",", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        let notes = try CLI.manager().assignProfiles(container: container, profiles: names)
        CLI.out("Profiles \(names.isEmpty ? "(none)" : names.joined(separator: ", ")) applied to \(container)\n")
        for note in notes { CLI.note(note) }
    }
}
