import ArgumentParser
import SysboxCore

/// `profile get|set|unset|show|list|delete|device`: a profile's config keys and devices.
enum ProfileOwner: OwnerKind, KeyedKind, CollectionKind {
    typealias GetOptions = NoOptions

    static let noun = "profile"
    static let command = "profile"
    static let example = "small"
    static func owner(_ name: String) -> ConfigOwner { .profile(name) }

    static let getHelp = VerbHelp(
        abstract: "Print one config key of a profile (an empty line when unset).",
        discussion: """
            Example:
              sysbox profile get small limits.memory
            """)

    static let setHelp = VerbHelp(
        abstract: "Set config keys of a profile.",
        discussion: """
            All keys are checked before any is written, and every container using the profile must stay valid.

            Examples:
              sysbox profile set small limits.memory=768MiB limits.cpu=1
              sysbox profile set small limits.processes 200
            """)

    static let unsetHelp = VerbHelp(
        abstract: "Remove config keys from a profile.",
        discussion: """
            Example:
              sysbox profile unset small limits.cpu
            """)

    static let showHelp = VerbHelp(
        abstract: "Print a profile as YAML (the format create and edit read).",
        discussion: """
            Examples:
              sysbox profile show default
              sysbox profile show small > small.yaml
            """)

    static let listHelp = VerbHelp(
        abstract: "List profiles with the number of containers using each.",
        discussion: """
            --format json prints an array of objects with name, description and used_by (the containers using the profile).

            Examples:
              sysbox profile list
              sysbox profile list --format json
            """, aliases: ["ls"])

    static let deleteHelp = VerbHelp(
        abstract: "Delete profiles (not default, not while containers or snapshots use them).",
        discussion: """
            Every name is checked first (it exists, is not default, is used by no container and named by no snapshot, is given once); then all are deleted together, or none is.

            Examples:
              sysbox profile delete small
              sysbox profile delete medium nesting
            """, aliases: ["rm"])

    static func document(_ manager: Manager, _ name: String, _ options: NoOptions) throws -> String {
        ProfileYAML.render(try manager.profileDocument(name))
    }

    static func printList(_ manager: Manager, _ format: OutputFormat) throws {
        let profiles = try manager.listProfiles()
        try CLI.printTable(format, headers: ["NAME", "DESCRIPTION", "USED BY"],
                           cells: profiles.map { [.text($0.name), .text($0.description), .text(String($0.usedBy.count))] },
                           objects: profiles.map(ProfileListEntry.init))
    }

    static func delete(_ manager: Manager, _ names: [String]) throws { try manager.deleteProfiles(names) }
}
