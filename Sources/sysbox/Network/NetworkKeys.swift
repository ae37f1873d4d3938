import ArgumentParser
import SysboxCore

/// `network get|set|unset|show|list|delete`: a network's keys, applied on the host when set.
enum NetworkOwner: KeyedKind, CollectionKind {
    static let noun = "network"
    static let keyHelp = "Key."
    static let keysHelp = "Keys."
    static let refusesEmptyChange = true

    static func description(_ manager: Manager, _ name: String) throws -> String {
        _ = try manager.networkConfig(name)  // no such network: its one-line error, with a suggestion
        return try manager.listNetworks().first { $0.name == name }?.description ?? ""
    }
    static func setDescription(_ manager: Manager, _ name: String, _ description: String) throws {
        try manager.setNetworkDescription(name, description)
    }

    static func help(_ verb: CollectionVerb) -> VerbHelp {
        switch verb {
        case .list:
            VerbHelp(
                "List networks.",
                """
                STATE is UP when the network's bridge exists on this host, DOWN when it does not (it is recreated when a container on it starts). --format json prints name, type, managed, ipv4, nat, description, used_by and state.

                Examples:
                  sysbox network list
                  sysbox network list --format json
                """, aliases: ["ls"])
        case .delete:
            VerbHelp(
                "Delete networks no container or profile uses.",
                """
                The bridge, its firewall table and its dnsmasq go with it. Every name is checked first; a network in use is refused with the names of its users.

                Examples:
                  sysbox network delete lab
                """, aliases: ["rm"])
        }
    }

    static func help(_ verb: KeyVerb) -> VerbHelp {
        switch verb {
        case .show:
            VerbHelp(
                "Show a network's config and users as YAML.",
                """
                Examples:
                  sysbox network show sysboxbr0
                """)
        case .get:
            VerbHelp(
                "Print the value of one network key (empty when unset).",
                """
                Examples:
                  sysbox network get sysboxbr0 ipv4.address
                """)
        case .set:
            VerbHelp(
                "Set network keys and apply them on the host.",
                """
                All keys are checked before any is written. A new ipv4.address is refused while containers on the network run; stopped ones get an address in the new subnet at their next start.

                Examples:
                  sysbox network set lab ipv4.nat=false
                  sysbox network set lab dns.domain=lab
                  sysbox network set lab ipv4.address 10.0.7.1/24
                """)
        case .unset:
            VerbHelp(
                "Unset network keys (back to their defaults).",
                """
                Examples:
                  sysbox network unset lab ipv4.nat
                """)
        }
    }

    static func checkReadable(_ key: String) throws { try NetworkConfig.validateKey(key) }

    static func config(_ manager: Manager, _ name: String, _ options: NoOptions) throws -> [String: String] {
        try manager.networkConfig(name)
    }

    static func set(_ manager: Manager, _ name: String, _ pairs: [(String, String)]) throws -> [String] {
        try manager.setNetwork(name, pairs)
    }

    static func unset(_ manager: Manager, _ name: String, _ keys: [String]) throws -> [String] {
        try manager.unsetNetwork(name, keys)
    }

    static func document(_ manager: Manager, _ name: String, _ options: NoOptions) throws -> String {
        try manager.networkDocument(name)
    }

    static func printList(_ manager: Manager, _ format: OutputFormat) throws {
        let networks = try manager.listNetworks()
        let cells: [[TableCell]] = networks.map {
            [.text($0.name), .text($0.type), .text("YES"), .text($0.ipv4), .text($0.description), .text(String($0.usedBy.count)), .text($0.state)]
        }
        try CLI.printTable(
            format, headers: ["NAME", "TYPE", "MANAGED", "IPV4", "DESCRIPTION", "USED BY", "STATE"], cells: cells,
            objects: networks)
    }

    static func delete(_ manager: Manager, _ names: [String]) throws { try manager.deleteNetworks(names) }
}
