import ArgumentParser
import SysboxCore

/// `profile get|set|unset|show|list|delete|device`: a profile's config keys and devices.
enum ProfileOwner: OwnerKind, KeyedKind, CollectionKind {
    static let noun = "profile", command = "profile", example = "small"
    static func owner(_ name: String) -> ConfigOwner { .profile(name) }
    static func description(_ manager: Manager, _ name: String) throws -> String {
        _ = try manager.layer(of: .profile(name))  // no such profile: its one-line error, with a suggestion
        return try manager.listProfiles().first { $0.name == name }?.description ?? ""
    }
    static func setDescription(_ manager: Manager, _ name: String, _ description: String) throws {
        try manager.setProfileDescription(name, description)
    }

    static func help(_ verb: CollectionVerb) -> VerbHelp {
        switch verb {
        case .list:
            VerbHelp(
                "List profiles with the number of containers using each.",
                """
                --format json prints an array of objects with name, description and used_by (the containers using the profile).

                Examples:
                  sysbox profile list
                  sysbox profile list --format json
                """, aliases: ["ls"])
        case .delete:
            VerbHelp(
                "Delete profiles (not default, not while containers or snapshots use them).",
                """
                Every name is checked first (it exists, is not default, is used by no container and named by no snapshot, is given once); then all are deleted together, or none is.

                Examples:
                  sysbox profile delete small
                  sysbox profile delete medium nesting
                """, aliases: ["rm"])
        }
    }

    static func help(_ verb: KeyVerb) -> VerbHelp {
        switch verb {
        case .show:
            VerbHelp(
                "Print a profile as YAML (the format create and edit read).",
                """
                Examples:
                  sysbox profile show default
                  sysbox profile show small > small.yaml
                """)
        case .get:
            VerbHelp(
                "Print one config key of a profile (an empty line when unset).",
                """
                Example:
                  sysbox profile get small limits.memory
                """)
        case .set:
            VerbHelp(
                "Set config keys of a profile.",
                """
                All keys are checked before any is written, and every container using the profile must stay valid.

                Examples:
                  sysbox profile set small limits.memory=768MiB limits.cpu=1
                  sysbox profile set small limits.processes 200
                """)
        case .unset:
            VerbHelp(
                "Remove config keys from a profile.",
                """
                Example:
                  sysbox profile unset small limits.cpu
                """)
        }
    }

    static func document(_ manager: Manager, _ name: String, _ options: NoOptions) throws -> String {
        ProfileYAML.render(try manager.profileDocument(name))
    }

    static func printList(_ manager: Manager, _ format: OutputFormat) throws {
        let profiles = try manager.listProfiles()
        try CLI.printTable(
            format, headers: ["NAME", "DESCRIPTION", "USED BY"],
            cells: profiles.map { [.text($0.name), .text($0.description), .text(String($0.usedBy.count))] },
            objects: profiles.map(ProfileListEntry.init))
    }

    static func delete(_ manager: Manager, _ names: [String]) throws { try manager.deleteProfiles(names) }
}
