import ArgumentParser
import Foundation
import SysboxCore

/// `network attach`/`detach` and their `-profile` forms (LXD's): a `nic` device on NETWORK added to, or
/// removed from, a container's (or a profile's) own devices.
struct NetworkAttachment<Owner: OwnerKind> {
    /// Adds `device` (default: the network's name) as `type=nic network=NETWORK name=INTERFACE`, the
    /// interface by default the first ethN no NIC of the container (or profile) names yet, as the
    /// kernel would number it under LXD.
    static func attach(network: String, to name: String, device: String?, interface: String?) throws {
        let device = device ?? network
        let manager = try CLI.manager()
        _ = try manager.networkConfig(network)  // an unknown network: its own one-line error
        let devices = try manager.layer(of: Owner.owner(name), expanded: Owner.self == ContainerOwner.self).devices
        let taken = Set(devices.filter { $0.value["type"] == "nic" }.map { $0.value["name"] ?? $0.key })
        let config = ["type": "nic", "network": network, "name": interface ?? Self.firstFree(taken)]
        try manager.addDevice(Owner.owner(name), name: device, config)
        CLI.out("Device \(device) added to \(name)\n")
        if let note = manager.deviceChangeNote(Owner.owner(name)) { CLI.note(note) }
    }

    /// The first `ethN` not in `taken`.
    static func firstFree(_ taken: Set<String>) -> String {
        var n = 0
        while taken.contains("eth\(n)") { n += 1 }
        return "eth\(n)"
    }

    /// Removes the own `nic` device of `name` on `network`: `device` when given, else the only one
    /// (several: refused, as LXD does, naming them).
    static func detach(network: String, from name: String, device: String?) throws {
        let manager = try CLI.manager()
        let layer = try manager.layer(of: Owner.owner(name))
        let onNetwork = layer.devices.filter { $0.value["type"] == "nic" && $0.value["network"] == network }.keys.sorted()
        let chosen: [String]
        if let device {
            guard onNetwork.contains(device) else {
                throw SysboxError(
                    .notFound,
                    "\(Owner.noun) \(name) has no nic device \(device) on network \(network) of its own; see: sysbox \(Owner.command) device show \(name)")
            }
            chosen = [device]
        } else {
            guard !onNetwork.isEmpty else {
                throw SysboxError(
                    .notFound,
                    "\(Owner.noun) \(name) has no nic device on network \(network) of its own (one from a profile is detached from the profile: sysbox network detach-profile \(network) PROFILE)"
                )
            }
            guard onNetwork.count == 1 else {
                throw SysboxError(
                    .invalidArgument,
                    "\(Owner.noun) \(name) has several nic devices on network \(network) (\(onNetwork.joined(separator: ", "))); name the one to detach: sysbox network detach \(network) \(name) DEVICE"
                )
            }
            chosen = onNetwork
        }
        try manager.removeDevices(Owner.owner(name), names: chosen)
        for device in chosen { CLI.out("Device \(device) removed from \(name)\n") }
        if let note = manager.deviceChangeNote(Owner.owner(name)) { CLI.note(note) }
    }
}

struct NetworkAttach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Give a container a NIC on a network (a nic device of its own).",
        discussion: """
            As LXD's: the device is named DEVICE (default: the network's name) and the interface inside INTERFACE (default: the first ethN the container's NICs leave free). It takes effect at the container's next start.

            Examples:
              sysbox network attach sysboxbr0 web1
              sysbox network attach sysboxbr0 web1 lan eth1
            """)

    @Argument(help: "The network.", completion: .networks) var network: String
    @Argument(help: "The container.", completion: .containers) var container: String
    @Argument(help: "Device name (default: the network's name).") var device: String?
    @Argument(help: "Interface name inside (default: the first free ethN).") var interface: String?

    func run() throws { try NetworkAttachment<ContainerOwner>.attach(network: network, to: container, device: device, interface: interface) }
}

struct NetworkDetach: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach", abstract: "Remove a container's NICs on a network (its own nic devices).",
        discussion: """
            Examples:
              sysbox network detach sysboxbr0 web1
              sysbox network detach sysboxbr0 web1 lan
            """)

    @Argument(help: "The network.", completion: .networks) var network: String
    @Argument(help: "The container.", completion: .containers) var container: String
    @Argument(help: "Device name (default: the only own nic on the network).") var device: String?

    func run() throws { try NetworkAttachment<ContainerOwner>.detach(network: network, from: container, device: device) }
}

struct NetworkAttachProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach-profile", abstract: "Give a profile a nic device on a network.",
        discussion: """
            Examples:
              sysbox network attach-profile sysboxbr0 default lan eth1
            """)

    @Argument(help: "The network.", completion: .networks) var network: String
    @Argument(help: "The profile.", completion: .profiles) var profile: String
    @Argument(help: "Device name (default: the network's name).") var device: String?
    @Argument(help: "Interface name inside (default: the first free ethN).") var interface: String?

    func run() throws { try NetworkAttachment<ProfileOwner>.attach(network: network, to: profile, device: device, interface: interface) }
}

struct NetworkDetachProfile: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detach-profile", abstract: "Remove a profile's nic devices on a network.",
        discussion: """
            Examples:
              sysbox network detach-profile sysboxbr0 default
            """)

    @Argument(help: "The network.", completion: .networks) var network: String
    @Argument(help: "The profile.", completion: .profiles) var profile: String
    @Argument(help: "Device name (default: the profile's only nic on the network).") var device: String?

    func run() throws { try NetworkAttachment<ProfileOwner>.detach(network: network, from: profile, device: device) }
}
