import Foundation
import Testing

/// Bridge filtering through the binary (LXD's `security.mac_filtering` and `security.ipv4_filtering`
/// on NICs): busybox containers on a network of the test's own spoof from inside (another MAC, another
/// source address) and are cut off, while an unfiltered one doing the same still gets through; the
/// nftables tables go with a stop and after a killed monitor; bad values are one-line errors. Root
/// only; all traffic stays on the test's bridge.
@Suite(.serialized) struct FilteringTests {
    init() throws {
        try #require(getuid() == 0, "the filtering tests start containers and must run as root")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/nft"), "/usr/sbin/nft is missing: run scripts/setup.sh")
    }

    /// `ping` from inside `name` (busybox; `-I ADDRESS` as the source when given): whether a reply came.
    func pings(_ s: Sandbox, _ name: String, _ target: String, from source: String? = nil) throws -> Bool {
        let args = ["exec", name, "--", "ping", "-c", "2", "-W", "1"] + (source.map { ["-I", $0] } ?? []) + [target]
        return try s.run(args).ok
    }

    /// The bridge table of a container's eth0 (named after its host end), "" when there is none.
    func table(_ s: Sandbox, _ name: String) throws -> (String, String) {
        let hostEnd = try s.ok(["config", "get", name, "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        let table = "sysbox-filter-" + hostEnd
        let r = try runProcess("/usr/sbin/nft", ["list", "table", "bridge", table])
        return (table, r.status == 0 ? r.stdout : "")
    }

    func tables() throws -> String { try runProcess("/usr/sbin/nft", ["list", "tables"]).stdout }

    @Test func spoofedMACAndAddressAreDropped() throws {
        let s = try Sandbox()
        let net = ProxyTests.uniqueName("sbf")
        let prefix = "10.217.\(Int.random(in: 2...250))"
        try s.ok(["network", "create", net, "ipv4.address=\(prefix).1/24"])
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        defer {
            _ = try? s.run(["delete", "--force", "fa", "fb", "fc", "fd"])
            _ = try? s.run(["profile", "device", "remove", "default", "eth0"])
            _ = try? s.run(["network", "delete", net])
        }
        // fb: the target; fa: mac_filtering; fd: ipv4_filtering (a leased, not static, address);
        // fc: no filtering, doing the same spoofs.
        try s.ok(["create", "busybox", "fb"])
        try s.ok(["config", "device", "override", "fb", "eth0", "ipv4.address=\(prefix).11"])
        try s.ok(["create", "busybox", "fa"])
        try s.ok(["config", "device", "override", "fa", "eth0", "security.mac_filtering=true"])
        try s.ok(["create", "busybox", "fd"])
        try s.ok(["config", "device", "override", "fd", "eth0", "security.ipv4_filtering=true", "security.ipv6_filtering=false"])
        try s.ok(["create", "busybox", "fc"])
        try s.ok(["start", "fb", "fa", "fd", "fc"])
        let target = "\(prefix).11"
        for name in ["fa", "fd", "fc"] { #expect(try pings(s, name, target), "\(name) cannot reach fb before any spoofing") }

        // The rules: fa's MAC; fd's MAC and leased address; nothing for fb and fc.
        let mac = try s.ok(["config", "get", "fa", "volatile.eth0.hwaddr"]).trimmingCharacters(in: .newlines)
        let (tableA, rulesA) = try table(s, "fa")
        #expect(rulesA.contains("ether saddr != \(mac) drop comment \"fa/eth0\""), "\(rulesA)")
        #expect(rulesA.contains("arp saddr ether != \(mac) drop"), "\(rulesA)")
        #expect(!rulesA.contains("ip saddr"), "\(rulesA)")
        let leased = try s.ok(["exec", "fd", "--", "sh", "-c", "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1"]).trimmingCharacters(in: .whitespacesAndNewlines)
        let (tableD, rulesD) = try table(s, "fd")
        #expect(rulesD.contains("ip saddr != \(leased) drop comment \"fd/eth0\""), "\(rulesD)")
        #expect(rulesD.contains("ether saddr != "), "\(rulesD)")
        #expect(try table(s, "fb").1 == "" && table(s, "fc").1 == "")

        // Another MAC: fa is cut off, fc is not (neighbour entries flushed with the link going down).
        for name in ["fa", "fc"] {
            try s.ok(["exec", name, "--", "sh", "-c", "ip link set eth0 down && ip link set eth0 address 00:16:3e:5f:00:0\(name == "fa" ? 1 : 2) && ip link set eth0 up"])
        }
        #expect(try !pings(s, "fa", target), "fa reached fb with a spoofed MAC")
        try waitUntil { try pings(s, "fc", target) }

        // Another source address: dropped for fd (and its ARP with it), fine for fc; fd's own still works.
        try s.ok(["exec", "fd", "--", "ip", "addr", "add", "\(prefix).77/24", "dev", "eth0"])
        try s.ok(["exec", "fc", "--", "ip", "addr", "add", "\(prefix).78/24", "dev", "eth0"])
        #expect(try !pings(s, "fd", target, from: "\(prefix).77"), "fd reached fb from a spoofed address")
        #expect(try pings(s, "fd", target, from: leased))
        try waitUntil { try pings(s, "fc", target, from: "\(prefix).78") }

        // Stop: the tables go; a start brings them back, and a killed monitor's go at the next cleanup.
        try s.ok(["stop", "fa", "fd"])
        var now = try tables()
        #expect(!now.contains(tableA) && !now.contains(tableD), "\(now)")
        try s.ok(["start", "fa"])
        #expect(try tables().contains(tableA))
        let monitor = try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/fa/monitor.pid", encoding: .utf8).split(separator: " ")[0]))
        kill(monitor, SIGKILL)
        try waitUntil { try s.ok(["list", "--format", "csv,noheader"]).contains("fa,STOPPED") }
        // Filtering turned off: the next start removes the stale table and makes none.
        try s.ok(["config", "device", "unset", "fa", "eth0", "security.mac_filtering"])
        try s.ok(["start", "fa"])
        now = try tables()
        #expect(!now.contains(tableA), "\(now)")
        try s.ok(["stop", "fa", "fb", "fc"])

        // Bad values: one line naming the value and the fix, nothing changed.
        let before = try s.dump()
        try s.fails(["config", "device", "set", "fd", "eth0", "security.mac_filtering=maybe"], "invalid value \"maybe\" for security.mac_filtering: expected true or false")
        try s.fails(["config", "device", "set", "fd", "eth0", "security.ipv4_filtering=2"], "for security.ipv4_filtering: expected true or false")
        try s.fails(["config", "device", "set", "fd", "eth0", "security.ipv6_filtering=true"], "security.ipv6_filtering: IPv6 is not supported yet")
        try s.fails(["config", "device", "set", "fd", "eth0", "security.mac_filter=true"], "unknown key security.mac_filter")
        #expect(try s.dump() == before)
        // A killed monitor's tables go with a delete too (the same cleanup as a start's).
        try s.ok(["start", "fd"])
        #expect(try tables().contains(tableD))
        let monitorD = try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/fd/monitor.pid", encoding: .utf8).split(separator: " ")[0]))
        kill(monitorD, SIGKILL)
        try waitUntil { try s.ok(["list", "--format", "csv,noheader"]).contains("fd,STOPPED") }
        #expect(try tables().contains(tableD), "the killed monitor could not remove its table")
        try s.ok(["delete", "fd"])
        #expect(try !tables().contains(tableD))
        try s.ok(["delete", "fa", "fb", "fc"])
        now = try tables()
        #expect(!now.contains("sysbox-filter-"), "\(now)")
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        #expect(s.networkLeftovers() == [])
        #expect(s.leftovers() == [])
    }
}
