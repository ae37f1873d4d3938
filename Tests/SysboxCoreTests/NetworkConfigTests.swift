import Foundation
import Testing
@testable import SysboxCore

@Suite struct NetworkConfigTests {
    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch let e as SysboxError { return e.message } catch { return "\(error)" }
        return "no error"
    }

    @Test func keys() throws {
        try NetworkConfig.validate("ipv4.address", "auto")
        try NetworkConfig.validate("ipv4.address", "10.0.5.1/24")
        try NetworkConfig.validate("ipv4.address", "192.168.7.254/24")
        try NetworkConfig.validate("ipv4.nat", "false")
        try NetworkConfig.validate("dns.domain", "lab.example")
        try NetworkConfig.validate("user.owner", "ops")
        #expect(
            message { try NetworkConfig.validate("ipv4.address", "10.0.5.0/24") }.contains(
                "is the network address of 10.0.5.0/24; give the bridge a host address, like 10.0.5.1/24"))
        #expect(message { try NetworkConfig.validate("ipv4.address", "10.0.5.255/24") }.contains("broadcast"))
        #expect(message { try NetworkConfig.validate("ipv4.address", "10.0.5.1/31") }.contains("the prefix must be 8 to 30"))
        #expect(message { try NetworkConfig.validate("ipv4.address", "10.0.5.1") }.contains("like 10.0.3.1/24, or auto"))
        #expect(message { try NetworkConfig.validate("ipv4.address", "127.0.0.1/8") }.contains("reserved, loopback"))
        #expect(message { try NetworkConfig.validate("ipv4.nat", "maybe") }.hasPrefix("invalid value \"maybe\" for ipv4.nat"))
        #expect(message { try NetworkConfig.validate("dns.domain", "bad_domain") }.contains("expected a DNS domain"))
        #expect(message { try NetworkConfig.validate("dns.domain", "-x") }.contains("expected a DNS domain"))
        #expect(
            message { try NetworkConfig.validate("ipv4.nta", "true") }
                == "unknown network key ipv4.nta; did you mean ipv4.nat? Network keys: dns.domain, ipv4.address, ipv4.dhcp, ipv4.nat, user.*")
        #expect(message { try NetworkConfig.validateUnset("ipv4.address") }.hasPrefix("ipv4.address cannot be unset"))
        try NetworkConfig.validateUnset("ipv4.nat")
        #expect(message { try NetworkConfig.validateKey("nope") }.hasPrefix("unknown network key nope"))
    }

    @Test func settingsAndDefaults() throws {
        let s = try NetworkSettings(name: "lab", config: ["ipv4.address": "10.0.5.9/24"])
        #expect(s.gateway.description == "10.0.5.9" && s.subnet.description == "10.0.5.0/24")
        #expect(s.nat && s.dhcp && s.domain == "sysbox")
        #expect(throws: SysboxError.self) { try NetworkSettings(name: "lab", config: [:]) }
    }

    @Test func dnsmasqArguments() throws {
        var s = try NetworkSettings(name: "lab", config: ["ipv4.address": "10.0.5.1/24", "dns.domain": "lab"])
        let args = DNSMasq.arguments(s)
        #expect(args.contains("--interface=lab") && args.contains("--listen-address=10.0.5.1") && args.contains("--bind-interfaces"))
        #expect(args.contains("--dhcp-range=10.0.5.0,static,255.255.255.0,1h"))
        #expect(args.contains("--local=/lab/") && args.contains("--domain=lab") && args.contains("--conf-file=/dev/null"))
        #expect(args.contains("--hostsdir=/run/sysbox/net/lab/hosts") && args.contains("--user=nobody"))
        s.dhcp = false
        #expect(!DNSMasq.arguments(s).contains { $0.hasPrefix("--dhcp") })
    }

    @Test func nftRules() throws {
        var s = try NetworkSettings(name: "lab", config: ["ipv4.address": "10.0.5.1/24"])
        let rules = HostNetwork.rules(s)
        // Idempotent and atomic: make sure the table exists, drop it, define it whole.
        #expect(rules.hasPrefix("table ip sysbox-lab {}\ndelete table ip sysbox-lab\ntable ip sysbox-lab {\n"))
        #expect(rules.contains("ip saddr 10.0.5.0/24 ip daddr != 10.0.5.0/24 masquerade"))
        #expect(rules.contains("iifname \"lab\" accept") && rules.contains("oifname \"lab\" accept"))
        #expect(rules.contains("iifname \"lab\" udp dport { 53, 67 } accept"))
        s.nat = false
        #expect(!HostNetwork.rules(s).contains("masquerade"))
    }

    @Test func hostFilesFollowLeases() throws {
        let name = "sbu" + String(UUID().uuidString.prefix(8)).lowercased()
        defer { try? FileManager.default.removeItem(atPath: HostNetwork.directory(name)) }
        try DNSMasq.writeHosts(
            network: name, domain: "lab",
            [
                DNSMasq.Entry(container: "web1", device: "eth0", hwaddr: "00:16:3e:00:00:01", address: "10.0.5.2"),
                DNSMasq.Entry(container: "db1", device: "eth0", hwaddr: "00:16:3e:00:00:02", address: "10.0.5.3")
            ])
        let dir = HostNetwork.directory(name)
        #expect(try String(contentsOfFile: dir + "/hosts/web1", encoding: .utf8) == "10.0.5.2 web1.lab web1\n")
        #expect(try String(contentsOfFile: dir + "/dhcp-hosts/db1", encoding: .utf8) == "00:16:3e:00:00:02,10.0.5.3,db1\n")
        try DNSMasq.writeHosts(
            network: name, domain: "lab",
            [
                DNSMasq.Entry(container: "web1", device: "eth0", hwaddr: "00:16:3e:00:00:01", address: "10.0.5.2")
            ])
        #expect(!FileManager.default.fileExists(atPath: dir + "/hosts/db1"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/dhcp-hosts/db1"))
    }

    @Test func namesForNICs() {
        #expect(NICs.randomMAC().hasPrefix("00:16:3e:") && NICs.randomMAC().count == 17)
        let host = NICs.randomHostName()
        #expect(host.hasPrefix("sbx") && host.count == 11)
    }
}
