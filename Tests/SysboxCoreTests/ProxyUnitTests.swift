import Testing
import SysboxStore

@testable import SysboxCore

@Suite struct ProxyUnitTests {
    @Test func endpoints() throws {
        #expect(try ProxyEndpoint.parse("tcp:0.0.0.0:8080") == ProxyEndpoint(proto: "tcp", address: "0.0.0.0", port: 8080))
        #expect(try ProxyEndpoint.parse("udp:10.0.3.5:53").text == "udp:10.0.3.5:53")
        for (bad, message) in [
            ("tcp:0.0.0.0:80-90", "port ranges and lists are not supported; add one proxy device per port"),
            ("tcp:0.0.0.0:80,443", "port ranges and lists are not supported; add one proxy device per port"),
            ("tcp:0.0.0.0:0", "the port must be a number from 1 to 65535"),
            ("tcp:0.0.0.0:", "the port must be a number from 1 to 65535"),
            ("tcp:[::]:80", "IPv6 addresses are not supported; use an IPv4 address, e.g. tcp:0.0.0.0:8080"),
            ("tcp:::1:80", "IPv6 addresses are not supported; use an IPv4 address, e.g. tcp:0.0.0.0:8080"),
            ("sctp:1.2.3.4:80", "unknown type \"sctp\"; use tcp or udp, e.g. tcp:0.0.0.0:8080"),
            ("tcp:1.2.3:80", "\"1.2.3\" is not an IPv4 address (host names are not resolved); e.g. tcp:0.0.0.0:8080"),
            ("8080", "expected TYPE:ADDRESS:PORT, e.g. tcp:0.0.0.0:8080"),
            ("tcp:8080", "expected tcp:ADDRESS:PORT, e.g. tcp:0.0.0.0:8080")
        ] {
            #expect(throws: ValueError(message), "\(bad)") { try ProxyEndpoint.parse(bad) }
        }
    }

    @Test func specsResolveNatAddresses() throws {
        let devices: DeviceMap = [
            "eth0": ["type": "nic", "network": "br0", "ipv4.address": "10.1.2.50"],
            "web": ["type": "proxy", "listen": "tcp:0.0.0.0:8080", "connect": "tcp:0.0.0.0:80", "nat": "true"],
            "app": ["type": "proxy", "listen": "udp:127.0.0.1:5000", "connect": "udp:127.0.0.1:5000"]
        ]
        let specs = try Proxies.specs(devices)
        #expect(specs.map(\.device) == ["app", "web"])
        #expect(specs[1].connect.address == "10.1.2.50" && specs[1].nat && !specs[0].nat)
        let rules = Proxies.natRules(container: "c1", specs)
        #expect(rules.contains("table ip sysbox-proxy-c1 {}\ndelete table ip sysbox-proxy-c1\n"))
        #expect(rules.contains("    fib daddr type local tcp dport 8080 dnat to 10.1.2.50:80 comment \"c1/web\"\n"))
        #expect(rules.contains("    ip daddr != 127.0.0.0/8 fib daddr type local tcp dport 8080 dnat to 10.1.2.50:80 comment \"c1/web\"\n"))
        #expect(!rules.contains("5000"))
        var noStatic = devices
        noStatic["eth0"]?["ipv4.address"] = nil
        #expect(throws: SysboxError.self) { try Proxies.specs(noStatic) }
        var other = devices
        other["web"]?["connect"] = "tcp:10.1.2.51:80"
        #expect(throws: SysboxError.self) { try Proxies.specs(other) }
    }

    @Test func clashes() {
        let any = ProxyEndpoint(proto: "tcp", address: "0.0.0.0", port: 80)
        #expect(Proxies.clash(any, ProxyEndpoint(proto: "tcp", address: "127.0.0.1", port: 80)))
        #expect(!Proxies.clash(any, ProxyEndpoint(proto: "udp", address: "0.0.0.0", port: 80)))
        #expect(!Proxies.clash(any, ProxyEndpoint(proto: "tcp", address: "0.0.0.0", port: 81)))
        #expect(!Proxies.clash(ProxyEndpoint(proto: "tcp", address: "10.0.0.1", port: 80), ProxyEndpoint(proto: "tcp", address: "10.0.0.2", port: 80)))
    }
}
