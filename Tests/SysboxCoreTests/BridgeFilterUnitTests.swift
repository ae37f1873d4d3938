import Testing

@testable import SysboxCore

@Suite struct BridgeFilterUnitTests {
    func nic(_ device: String, host: String, mac: Bool? = nil, ipv4: Bool? = nil) -> StartPlan.Nic {
        StartPlan.Nic(
            device: device, name: device, hostName: host, hwaddr: "00:16:3e:aa:bb:cc", address: "10.1.2.3", prefix: 24,
            gateway: "10.1.2.1", bridge: "br", defaultRoute: true, bridgeAlias: nil, macFiltering: mac, ipv4Filtering: ipv4)
    }

    @Test func rulesPerFilteredNIC() {
        #expect(BridgeFilters.rules(container: "c1", [nic("eth0", host: "sbx1")]) == "")
        #expect(BridgeFilters.removal([nic("eth0", host: "sbx1")]) == "")
        let macOnly = BridgeFilters.rules(container: "c1", [nic("eth0", host: "sbx1", mac: true), nic("eth1", host: "sbx2")])
        #expect(macOnly.hasPrefix("table bridge sysbox-filter-sbx1 {}\ndelete table bridge sysbox-filter-sbx1\ntable bridge sysbox-filter-sbx1 {\n"))
        #expect(macOnly.contains("    type filter hook prerouting priority filter; policy accept;\n"))
        #expect(macOnly.contains("    iifname \"sbx1\" ether saddr != 00:16:3e:aa:bb:cc drop comment \"c1/eth0\"\n"))
        #expect(macOnly.contains("    iifname \"sbx1\" arp saddr ether != 00:16:3e:aa:bb:cc drop comment \"c1/eth0\"\n"))
        #expect(!macOnly.contains("sbx2") && !macOnly.contains("ip saddr"))
        // ipv4_filtering implies the MAC rules (as in LXD).
        let ipv4 = BridgeFilters.rules(container: "c1", [nic("eth0", host: "sbx1", ipv4: true)])
        #expect(ipv4.contains("ether saddr != 00:16:3e:aa:bb:cc drop"))
        #expect(ipv4.contains("    iifname \"sbx1\" ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept comment \"c1/eth0\"\n"))
        #expect(ipv4.contains("    iifname \"sbx1\" ip saddr != 10.1.2.3 drop comment \"c1/eth0\"\n"))
        #expect(ipv4.contains("    iifname \"sbx1\" arp saddr ip != { 0.0.0.0, 10.1.2.3 } drop comment \"c1/eth0\"\n"))
        #expect(ipv4.contains("    iifname \"sbx1\" ether type != { ip, arp, ip6 } drop comment \"c1/eth0\"\n"))
        #expect(
            BridgeFilters.removal([nic("eth0", host: "sbx1", mac: true), nic("eth1", host: "sbx2"), nic("eth2", host: "sbx3", ipv4: true)])
                == "table bridge sysbox-filter-sbx1 {}\ndelete table bridge sysbox-filter-sbx1\ntable bridge sysbox-filter-sbx3 {}\ndelete table bridge sysbox-filter-sbx3\n")
    }

    @Test func keys() throws {
        try Devices.validate(
            name: "eth0", ["type": "nic", "network": "n", "security.mac_filtering": "true", "security.ipv4_filtering": "false", "security.ipv6_filtering": "false"])
        #expect(throws: SysboxError.self) { try Devices.validate(name: "eth0", ["type": "nic", "network": "n", "security.mac_filtering": "maybe"]) }
        do {
            try Devices.validate(name: "eth0", ["type": "nic", "network": "n", "security.ipv6_filtering": "true"])
            Issue.record("ipv6_filtering=true was accepted")
        } catch let e as SysboxError {
            #expect(e.message.contains("IPv6 is not supported yet") && !e.message.contains("\n"), "\(e.message)")
        }
        #expect(NICs.flag("yes") == true && NICs.flag("false") == nil && NICs.flag(nil) == nil)
    }
}
