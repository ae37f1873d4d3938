import Foundation
import SysboxNetlink

/// Bridge filtering of NICs, LXD's `security.mac_filtering` and `security.ipv4_filtering`: nftables
/// rules in a `bridge` table of each filtered NIC's own, `bridge sysbox-filter-HOSTNAME` (the host end
/// of its veth, unique on the host), hooked at prerouting, so that a frame the container sends into the
/// bridge (to another container, the host or beyond) is dropped when it claims another MAC or IPv4
/// address than the NIC's. Installed by the monitor before the veth exists (`iifname` matches by name),
/// so no frame goes out unfiltered; deleted when the NIC is detached, and by the next start or cleanup
/// after a killed monitor (the start plan still names the NICs).
public enum BridgeFilters {
    /// NFPROTO_BRIDGE, the family of `table bridge`.
    static let bridgeFamily: UInt8 = 7

    /// The table of a NIC's host end.
    static func table(_ hostName: String) -> String { "sysbox-filter-\(hostName)" }

    /// Whether a NIC is filtered at all (ipv4_filtering implies mac_filtering, as in LXD).
    static func filtered(_ nic: StartPlan.Nic) -> Bool { nic.macFiltering == true || nic.ipv4Filtering == true }

    /// The nftables script of the filtered NICs of a container: per NIC, its table recreated (add,
    /// delete, define: idempotent, atomic, other tables untouched), every rule matching frames that
    /// enter the bridge from its host end and commented `CONTAINER/DEVICE`.
    /// - mac_filtering (and ipv4_filtering): a source MAC, or an ARP sender hardware address, other than
    ///   the NIC's `hwaddr` is dropped.
    /// - ipv4_filtering: an IPv4 source or ARP sender address other than the NIC's leased address is
    ///   dropped (but 0.0.0.0 for a DHCP request and an ARP probe), and so is any other ether type than
    ///   IPv4, ARP and IPv6 (a VLAN-tagged frame would carry an unchecked address).
    static func rules(container: String, _ nics: [StartPlan.Nic]) -> String {
        var text = ""
        for nic in nics where filtered(nic) {
            let table = table(nic.hostName)
            let on = "iifname \"\(nic.hostName)\""
            let note = "comment \"\(container)/\(nic.device)\""
            text += "table bridge \(table) {}\ndelete table bridge \(table)\ntable bridge \(table) {\n"
            text += "  chain prerouting {\n    type filter hook prerouting priority filter; policy accept;\n"
            text += "    \(on) ether saddr != \(nic.hwaddr) drop \(note)\n"
            text += "    \(on) arp saddr ether != \(nic.hwaddr) drop \(note)\n"
            if nic.ipv4Filtering == true {
                text += "    \(on) ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept \(note)\n"
                text += "    \(on) ip saddr != \(nic.address) drop \(note)\n"
                text += "    \(on) arp saddr ip != { 0.0.0.0, \(nic.address) } drop \(note)\n"
                text += "    \(on) ether type != { ip, arp, ip6 } drop \(note)\n"
            }
            text += "  }\n}\n"
        }
        return text
    }

    /// The script deleting the tables of `nics` (`table … {}` first: deleting a missing one is no error).
    static func removal(_ nics: [StartPlan.Nic]) -> String {
        nics.filter(filtered).map { "table bridge \(table($0.hostName)) {}\ndelete table bridge \(table($0.hostName))\n" }.joined()
    }

    /// Installs the filters of a container's NICs (`nft -f`, one run for all of them); nothing without
    /// a filtered NIC.
    /// - Throws: `SysboxError` with nft's error line (nft missing: the package to install).
    static func install(container: String, _ nics: [StartPlan.Nic]) throws {
        let script = rules(container: container, nics)
        guard !script.isEmpty else { return }
        try HostNetwork.runNft(script, what: "installing the bridge filters of \(container)")
    }

    /// Deletes the filters of `nics` that still exist: one NFT_MSG_GETTABLE per filtered NIC to know
    /// (no nft process when none is left), then one `nft -f`. Failures are ignored (cleanup).
    static func remove(_ nics: [StartPlan.Nic]) {
        let left = nics.filter(filtered)
        guard !left.isEmpty else { return }
        let tables = try? NetfilterTables.open()
        let present = left.filter { (try? tables?.tableExists(family: bridgeFamily, table($0.hostName))) != false }
        guard !present.isEmpty else { return }
        try? HostNetwork.runNft(removal(present), what: "removing the bridge filters")
    }

    /// After a killed monitor: the filters of the NICs of the last start plan at `planPath`.
    static func removeStale(planPath: String) {
        // Only the NICs are decoded (a plan of an older build still names them).
        struct Nics: Decodable { var nics: [StartPlan.Nic]? }
        guard let data = FileManager.default.contents(atPath: planPath), let nics = (try? JSONDecoder().decode(Nics.self, from: data))?.nics else { return }
        remove(nics)
    }
}
