import ArgumentParser
import SysboxCore

/// `config get|set|unset|show|device`: a container's own config keys and devices (with those of its
/// profiles when --expanded).
enum ContainerOwner: OwnerKind, KeyedKind {
    typealias GetOptions = GetExpanded
    typealias ShowOptions = ShowExpanded

    static let noun = "container", command = "config", example = "web1"
    static func owner(_ name: String) -> ConfigOwner { .container(name) }
    static func description(_ manager: Manager, _ name: String) throws -> String { try manager.containerView(name).record.description }
    static func setDescription(_ manager: Manager, _ name: String, _ description: String) throws {
        try manager.setContainerDescription(name, description)
    }

    static func help(_ verb: KeyVerb) -> VerbHelp {
        switch verb {
        case .show:
            VerbHelp(
                "Show a container's config and devices as YAML.",
                """
                Examples:
                  sysbox config show web1
                  sysbox config show web1 --expanded    # with its profiles applied
                """)
        case .get:
            VerbHelp(
                "Print one config key of a container (an empty line when unset).",
                """
                Examples:
                  sysbox config get web1 limits.memory
                  sysbox config get web1 limits.memory --expanded
                """)
        case .set:
            VerbHelp(
                "Set config keys of a container.",
                """
                All keys are checked before any is written; volatile.* keys are read-only.

                Examples:
                  sysbox config set web1 limits.memory=1GiB
                  sysbox config set web1 limits.cpu=0-1 environment.TZ=UTC
                  sysbox config set web1 limits.processes 500
                """)
        case .unset:
            VerbHelp(
                "Remove config keys from a container.",
                """
                Every key must be set on the container itself (keys from its profiles are changed there, or overridden with config set).

                Examples:
                  sysbox config set web1 limits.memory=1GiB user.role=web
                  sysbox config unset web1 limits.memory user.role
                """)
        }
    }

    static func document(_ manager: Manager, _ name: String, _ options: ShowExpanded) throws -> String {
        YAMLDocs.container(try manager.containerView(name), expanded: options.expanded)
    }
}
