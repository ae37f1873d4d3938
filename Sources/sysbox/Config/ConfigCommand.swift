import ArgumentParser
import SysboxCore

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show and change a container's config keys and devices.",
        discussion: """
            Examples:
              sysbox config show web1 --expanded
              sysbox config set web1 limits.memory=1GiB limits.cpu=2
              sysbox config unset web1 limits.cpu
              sysbox config device add web1 data disk source=/var/log path=/mnt/host-log
              sysbox config edit web1
            """,
        subcommands: [
            ShowCommand<ContainerOwner>.self, GetCommand<ContainerOwner>.self, SetCommand<ContainerOwner>.self,
            UnsetCommand<ContainerOwner>.self, ConfigEdit.self, DeviceCommand<ContainerOwner>.self
        ]
    )
}

/// `config …` acts on containers, `profile …` on profiles; device verbs are shared.
protocol OwnerKind {
    static var noun: String { get }
    static var command: String { get }
    static var example: String { get }
    static func owner(_ name: String) -> ConfigOwner
}

extension OwnerKind {
    /// The help examples' first step: adds a `data` disk to the example owner, so that the examples
    /// after it (get, set, unset, remove) work as written.
    static var addData: String { "sysbox \(command) device add \(example) data disk source=/var/log path=/mnt/host-log" }
}
