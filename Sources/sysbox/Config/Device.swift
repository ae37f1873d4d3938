import ArgumentParser
import SysboxCore

/// `config device …` and `profile device …`: the same verbs on a container's or a profile's devices.
struct DeviceCommand<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "device",
            abstract: "Manage a \(Owner.noun)'s devices (nic, disk, proxy, none).",
            discussion: """
                Device types and keys:
                  nic   network (required), name, hwaddr, ipv4.address,
                        security.mac_filtering, security.ipv4_filtering (no spoofing)
                  disk  path (required), source (required unless path is /), readonly
                  proxy listen, connect (required, tcp:ADDR:PORT or udp:ADDR:PORT), bind=host, nat
                  none  masks a device of the same name inherited from a profile

                Examples:
                  \(Owner.addData)
                  sysbox \(Owner.command) device set \(Owner.example) data readonly=true
                  sysbox \(Owner.command) device show \(Owner.example)
                  sysbox \(Owner.command) device remove \(Owner.example) data
                """,
            subcommands: Owner.self == ContainerOwner.self
                ? [
                    DeviceAdd<Owner>.self, DeviceRemove<Owner>.self, DeviceList<Owner>.self, DeviceShow<Owner>.self,
                    DeviceGet<Owner>.self, DeviceSet<Owner>.self, DeviceUnset<Owner>.self, DeviceOverride.self
                ]
                : [
                    DeviceAdd<Owner>.self, DeviceRemove<Owner>.self, DeviceList<Owner>.self, DeviceShow<Owner>.self,
                    DeviceGet<Owner>.self, DeviceSet<Owner>.self, DeviceUnset<Owner>.self
                ]
        )
    }
}

struct DeviceAdd<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "add", abstract: "Add a device to a \(Owner.noun).",
            discussion: """
                Examples:
                  \(Owner.addData)
                  sysbox \(Owner.command) device add \(Owner.example) eth1 nic network=sysboxbr0 name=eth1
                """)
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String
    @Argument(help: "Device name.") var device: String
    @Argument(help: "Device type: nic, disk, proxy or none.") var type: String
    @Argument(help: "KEY=VALUE pairs.") var assignments: [String] = []

    func run() throws {
        var config = ["type": type]
        for (key, value) in try CLI.pairs(assignments) {
            guard key != "type" else { throw SysboxError(.invalidArgument, "give the type as the third argument, not as type=") }
            config[key] = value
        }
        let manager = try CLI.manager()
        try manager.addDevice(Owner.owner(name), name: device, config)
        CLI.out("Device \(device) added to \(name)\n")
        if let note = manager.deviceChangeNote(Owner.owner(name)) { CLI.note(note) }
    }
}

struct DeviceRemove<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "remove", abstract: "Remove devices from a \(Owner.noun).",
            discussion: """
                Examples:
                  \(Owner.addData)
                  sysbox \(Owner.command) device remove \(Owner.example) data
                """,
            aliases: ["rm"])
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String
    @Argument(help: "Device names.") var devices: [String] = []

    func run() throws {
        let manager = try CLI.manager()
        try manager.removeDevices(Owner.owner(name), names: devices)
        CLI.out("Device \(devices.joined(separator: ", ")) removed from \(name)\n")
        if let note = manager.deviceChangeNote(Owner.owner(name)) { CLI.note(note) }
    }
}

struct DeviceList<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "list", abstract: "List a \(Owner.noun)'s own devices.",
            discussion: """
                Lists the \(Owner.noun)'s own devices only\(Owner.self == ContainerOwner.self ? "; sysbox config show \(Owner.example) --expanded shows those from its profiles too" : "").

                Example:
                  sysbox \(Owner.command) device list \(Owner.example)
                """, aliases: ["ls"])
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String

    func run() throws {
        let layer = try CLI.manager().layer(of: Owner.owner(name))
        CLI.out(layer.devices.keys.sorted().map { $0 + "\n" }.joined())
    }
}

struct DeviceShow<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "show", abstract: "Show a \(Owner.noun)'s own devices as YAML.",
            discussion: """
                Example:
                  sysbox \(Owner.command) device show \(Owner.example)
                """)
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String

    func run() throws {
        CLI.out(YAMLDocs.devices(try CLI.manager().layer(of: Owner.owner(name)).devices))
    }
}

struct DeviceGet<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "get", abstract: "Print one key of a device (an empty line when unset).",
            discussion: """
                Examples:
                  \(Owner.addData)
                  sysbox \(Owner.command) device get \(Owner.example) data path
                """)
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String
    @Argument(help: "Device name.") var device: String
    @Argument(help: "Key.") var key: String

    func run() throws {
        try Names.validate(device, as: .device)
        let layer = try CLI.manager().layer(of: Owner.owner(name))
        guard let config = layer.devices[device] else {
            throw SysboxError(.notFound, "device \(device) not found on \(Owner.owner(name)); sysbox \(Owner.command) device list \(name) shows its devices")
        }
        CLI.outRaw((config[key] ?? "") + "\n")
    }
}

struct DeviceSet<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "set", abstract: "Set keys of a device.",
            discussion: """
                Examples:
                  \(Owner.addData)
                  sysbox \(Owner.command) device set \(Owner.example) data readonly=true
                """)
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String
    @Argument(help: "Device name.") var device: String
    @Argument(help: "KEY=VALUE pairs (or KEY VALUE).") var assignments: [String] = []

    func run() throws {
        let manager = try CLI.manager()
        try manager.setDevice(Owner.owner(name), name: device, try CLI.setArguments(assignments))
        if let note = manager.deviceChangeNote(Owner.owner(name)) { CLI.note(note) }
    }
}

struct DeviceUnset<Owner: OwnerKind>: ParsableCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "unset", abstract: "Remove keys from a device.",
            discussion: """
                Examples:
                  \(Owner.addData)
                  sysbox \(Owner.command) device set \(Owner.example) data readonly=true
                  sysbox \(Owner.command) device unset \(Owner.example) data readonly
                """)
    }

    @Argument(help: "The \(Owner.noun).", completion: .names(of: Owner.noun)) var name: String
    @Argument(help: "Device name.") var device: String
    @Argument(help: "Keys.") var keys: [String] = []

    func run() throws {
        let manager = try CLI.manager()
        try manager.unsetDevice(Owner.owner(name), name: device, keys: keys)
        if let note = manager.deviceChangeNote(Owner.owner(name)) { CLI.note(note) }
    }
}

struct DeviceOverride: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "override",
        abstract: "Copy a device inherited from a profile into the container, to change it there only.",
        discussion: """
            Example:
              sysbox config device override web1 eth0 ipv4.address=10.0.3.10
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "Device name.") var device: String
    @Argument(help: "KEY=VALUE pairs to change.") var assignments: [String] = []

    func run() throws {
        let manager = try CLI.manager()
        try manager.overrideDevice(container: name, name: device, try CLI.pairs(assignments))
        CLI.out("Device \(device) overridden for \(name)\n")
        if let note = manager.deviceChangeNote(.container(name)) { CLI.note(note) }
    }
}
