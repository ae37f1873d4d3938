import Foundation
import Testing

/// Managed networks with real bridges, veth pairs, nftables and dnsmasq. Root only; each test uses
/// networks of its own (random names, automatic or its own subnets) and asserts that nothing is left.
@Suite(.serialized) struct NetworkTests {
    init() throws {
        try #require(getuid() == 0, "the network tests create bridges and must run as root")
        for tool in ["/usr/sbin/nft", "/usr/sbin/dnsmasq", "/usr/sbin/ip", "/usr/bin/busybox"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/setup.sh (nftables, dnsmasq-base, iproute2, busybox-static)")
        }
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(15 - prefix.count))
    }

    /// The leases of a network: container → address.
    func leases(_ s: Sandbox, _ network: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try s.ok(["network", "list-leases", network, "--format", "csv,noheader"]).split(separator: "\n") {
            let f = line.split(separator: ",").map(String.init)
            out[f[0]] = f[3]
        }
        return out
    }

    /// An HTTP GET from the host (bash's /dev/tcp: no HTTP client needed); the whole response.
    func httpGet(_ address: String, _ port: Int, _ path: String) throws -> String {
        try runProcess("/bin/bash", ["-c", "exec 3<>/dev/tcp/\(address)/\(port) && printf 'GET \(path) HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 3 cat <&3"]).stdout
    }

    func hostLinks() throws -> String { try runProcess("/usr/sbin/ip", ["-o", "link"]).stdout }

    /// Everything a network test must have removed at its end.
    func assertClean(_ s: Sandbox, network: String, hostEnds: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let links = try hostLinks()
        #expect(!links.contains(": \(network):"), "bridge \(network) is left", sourceLocation: sourceLocation)
        for end in hostEnds { #expect(!links.contains(": \(end)@"), "veth \(end) is left", sourceLocation: sourceLocation) }
        let tables = try runProcess("/usr/sbin/nft", ["list", "tables"]).stdout
        #expect(!tables.contains("sysbox-\(network)"), "nft table of \(network) is left", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: "/run/sysbox/net/\(network)"), sourceLocation: sourceLocation)
        // No dnsmasq of this network runs any more.
        let dnsmasqs = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { pid in
            Int32(pid) != nil && String(decoding: readProc("/proc/\(pid)/cmdline"), as: UTF8.self).contains("--interface=\(network)\u{0}")
        }
        #expect(dnsmasqs == [], "dnsmasq of \(network) is left: \(dnsmasqs)", sourceLocation: sourceLocation)
        #expect(s.networkLeftovers() == [], sourceLocation: sourceLocation)
        #expect(s.leftovers() == [], sourceLocation: sourceLocation)
    }

    @Test func bridgeNicPingDnsTcpRestart() throws {
        let s = try Sandbox()
        let net = Self.uniqueName("sbt")
        #expect(try s.ok(["network", "create", net]) == "Network \(net) created\n")
        let cidr = try s.ok(["network", "get", net, "ipv4.address"]).trimmingCharacters(in: .newlines)
        #expect(cidr.hasPrefix("10.") && cidr.hasSuffix(".1/24"), "\(cidr)")
        let gateway = String(cidr.dropLast(3))
        #expect(try runProcess("/usr/sbin/ip", ["-o", "-4", "addr", "show", "dev", net]).stdout.contains("inet \(cidr)"))
        #expect(try runProcess("/usr/sbin/nft", ["list", "table", "ip", "sysbox-\(net)"]).stdout.contains("masquerade"))
        #expect(try s.ok(["network", "list", "--format", "csv,noheader"]).contains("\(net),bridge,YES,\(cidr),,0,UP"))
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        // In use by the default profile: refused, naming the user.
        let inUse = try s.fails(["network", "delete", net], "network \(net) is in use by profile default")
        // A profile is told the profile commands, not a container's (issue 14).
        #expect(inUse.contains("sysbox profile device remove PROFILE DEVICE") && !inUse.contains("sysbox config device"), "\(inUse)")

        let started = Date()
        try s.ok(["launch", "busybox", "c1"])
        try s.ok(["launch", "busybox", "c2"])
        let addresses = try leases(s, net)
        let a1 = try #require(addresses["c1"]), a2 = try #require(addresses["c2"])
        #expect(a1 != a2 && a1 != gateway)
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "2", gateway]).contains("1 packets received"))
        print("launch of two containers to first ping: \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "2", a2]).contains("1 packets received"))
        // eth0 inside: the lease's address, the MAC recorded in volatile, a default route via the bridge.
        let mac = try s.ok(["config", "get", "c1", "volatile.eth0.hwaddr"]).trimmingCharacters(in: .newlines)
        #expect(mac.hasPrefix("00:16:3e:"))
        let ipAddr = try s.ok(["exec", "c1", "--", "ip", "addr", "show", "eth0"])
        #expect(ipAddr.contains("inet \(a1)/24") && ipAddr.contains(mac), "\(ipAddr)")
        #expect(try s.ok(["exec", "c1", "--", "ip", "route"]).contains("default via \(gateway) dev eth0"))
        #expect(try s.ok(["exec", "c1", "--", "cat", "/etc/resolv.conf"]) == "nameserver \(gateway)\nsearch sysbox\n")
        // list and info show the address; info the host end and counters.
        #expect(try s.ok(["list", "c1", "--format", "csv,noheader"]).contains("\(a1) (eth0)"))
        let hostEnd = try s.ok(["config", "get", "c1", "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        let info = try s.ok(["info", "c1"])
        #expect(info.contains("Host interface: \(hostEnd)") && info.contains("IPv4: \(a1)") && info.contains("Bytes received: "), "\(info)")
        #expect(try runProcess("/usr/sbin/ip", ["-o", "link", "show", hostEnd]).stdout.contains("master \(net)"))
        // A DHCP client in the guest gets the same address (dnsmasq holds a reservation per lease).
        let dhcp = try s.run(["exec", "c1", "--", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "3", "-s", "/bin/true"])
        #expect(dhcp.status == 0 && (dhcp.stdout + dhcp.stderr).contains("lease of \(a1) obtained from \(gateway)"), "\(dhcp.stderr)")
        // Names through dnsmasq, short and with the domain.
        try waitUntil {
            (try s.run(["exec", "c1", "--", "nslookup", "c2"])).stdout.contains(a2)
        }
        #expect(try s.ok(["exec", "c2", "--", "nslookup", "c1.sysbox"]).contains(a1))
        // Host to container over TCP: busybox httpd in c2.
        try s.ok(["exec", "c2", "--", "sh", "-c", "mkdir -p /tmp/www && echo hello-from-c2 > /tmp/www/index.html && httpd -p 8080 -h /tmp/www"])
        try waitUntil {
            (try httpGet(a2, 8080, "/index.html")).hasSuffix("\r\n\r\nhello-from-c2\n")
        }
        // The same address after a restart; the host end comes back on the bridge.
        try s.ok(["restart", "c1"])
        #expect(try leases(s, net)["c1"] == a1)
        #expect(try s.ok(["exec", "c1", "--", "ip", "addr", "show", "eth0"]).contains("inet \(a1)/24"))
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "2", a2]).contains("1 packets received"))
        // The bridge has a fixed MAC of its own: when a port goes, the others keep their gateway.
        #expect(String(decoding: readProc("/sys/class/net/\(net)/addr_assign_type"), as: UTF8.self).hasPrefix("3"))
        #expect(String(decoding: readProc("/sys/class/net/\(net)/address"), as: UTF8.self).hasPrefix("00:16:3e:"))
        // A renamed container answers to its new name only.
        try s.ok(["stop", "c2"])
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "1", gateway]).contains("1 packets received"))
        try s.ok(["rename", "c2", "c3"])
        try s.ok(["start", "c3"])
        #expect(try leases(s, net)["c3"] == a2)
        try waitUntil { (try s.run(["exec", "c1", "--", "nslookup", "c3"])).stdout.contains(a2) }
        try waitUntil { !(try s.run(["exec", "c1", "--", "nslookup", "c2"])).stdout.contains(a2) }
        // network info: the bridge's address, counters and ports.
        let netInfo = try s.ok(["network", "info", net])
        #expect(netInfo.contains("inet \(cidr)") && netInfo.contains(hostEnd) && netInfo.contains("dnsmasq: running"), "\(netInfo)")
        // The bridge carried the pings above: its counters are numbers above zero.
        for counter in ["Bytes received", "Bytes sent", "Packets received", "Packets sent"] {
            let value =
                netInfo.split(separator: "\n").first { $0.contains(counter + ":") }?.split(separator: ":").last
                .map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { UInt64($0) } ?? 0
            #expect(value > 0, "\(counter) in \(netInfo)")
        }
        let shown = try s.ok(["network", "show", net])
        #expect(shown.contains("ipv4.address: \(cidr)") && shown.contains("name: \(net)"), "\(shown)")
        // A killed monitor: init dies with it, and with the container's network namespace the kernel
        // removes the veth pair, host end included (nothing to sweep later).
        try s.ok(["launch", "busybox", "k1"])
        let killedEnd = try s.ok(["config", "get", "k1", "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        #expect(try hostLinks().contains(": \(killedEnd)@"))
        let monitor = try String(contentsOfFile: s.stateDir + "/containers/k1/monitor.pid", encoding: .utf8).split(separator: " ")[0]
        kill(Int32(monitor) ?? 0, SIGKILL)
        try waitUntil { !(try hostLinks().contains(": \(killedEnd)@")) }
        // STOPPED within the same wait: under load this once lagged the veth's removal (see the session
        // note of 2026-12-03; the cause is not found yet, the state always converged).
        try waitUntil { try s.ok(["list", "--format", "csv,noheader"]).contains("k1,STOPPED") }
        try s.ok(["delete", "k1"])

        let hostEnd2 = try s.ok(["config", "get", "c3", "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        try s.ok(["delete", "--force", "c1", "c3"])
        #expect(try leases(s, net).isEmpty)
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        #expect(try s.ok(["network", "delete", net]) == "Network \(net) deleted\n")
        try assertClean(s, network: net, hostEnds: [hostEnd, hostEnd2])
    }

    @Test func natReachesAnOutsideNamespace() throws {
        let s = try Sandbox()
        let net = Self.uniqueName("sbt")
        let outside = Self.uniqueName("sbo")
        let base = 4 * Int.random(in: 1...62)
        let (hostSide, farSide) = ("198.51.100.\(base + 1)", "198.51.100.\(base + 2)")
        // "Outside": a network namespace behind a veth pair, with no route back to the containers'
        // subnet: only masquerading makes replies find their way.
        try #require(try runProcess("/usr/sbin/ip", ["netns", "add", outside]).status == 0)
        defer {
            _ = try? runProcess("/usr/sbin/ip", ["netns", "pids", outside]).stdout.split(separator: "\n").compactMap { Int32($0) }.forEach { kill($0, SIGKILL) }
            _ = try? runProcess("/usr/sbin/ip", ["link", "delete", outside])
            _ = try? runProcess("/usr/sbin/ip", ["netns", "delete", outside])
        }
        for args in [
            ["link", "add", outside, "type", "veth", "peer", "name", "o0", "netns", outside],
            ["addr", "add", "\(hostSide)/30", "dev", outside], ["link", "set", outside, "up"],
            ["-n", outside, "addr", "add", "\(farSide)/30", "dev", "o0"], ["-n", outside, "link", "set", "o0", "up"],
            ["-n", outside, "link", "set", "lo", "up"]
        ] {
            let r = try runProcess("/usr/sbin/ip", args)
            try #require(r.status == 0, "ip \(args.joined(separator: " ")): \(r.stderr)")
        }
        // A web server outside that tells who connected.
        let www = s.root + "/outside-www"
        try FileManager.default.createDirectory(atPath: www + "/cgi-bin", withIntermediateDirectories: true)
        try "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho \"$REMOTE_ADDR\"\n".write(toFile: www + "/cgi-bin/who", atomically: true, encoding: .utf8)
        chmod(www + "/cgi-bin/who", 0o755)
        // In the foreground (-f), ended with the namespace's processes by the defer above.
        let server = try Running("/usr/sbin/ip", ["netns", "exec", outside, "/usr/bin/busybox", "httpd", "-f", "-p", "\(farSide):8080", "-h", www])
        defer {
            kill(server.process.processIdentifier, SIGKILL)
            _ = try? server.wait()
        }

        try s.ok(["network", "create", net])
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        try s.ok(["launch", "busybox", "c1"])
        let who = try s.run(["exec", "c1", "--", "timeout", "5", "wget", "-q", "-O", "-", "http://\(farSide):8080/cgi-bin/who"])
        #expect(who.stdout == "\(hostSide)\n", "\(who.stderr)")
        // Without NAT the reply has no way back.
        try s.ok(["network", "set", net, "ipv4.nat=false"])
        #expect(!(try runProcess("/usr/sbin/nft", ["list", "table", "ip", "sysbox-\(net)"]).stdout.contains("masquerade")))
        let blocked = try s.run(["exec", "c1", "--", "timeout", "3", "wget", "-q", "-O", "-", "http://\(farSide):8080/cgi-bin/who"])
        #expect(blocked.status != 0)
        try s.ok(["network", "unset", net, "ipv4.nat"])
        #expect(try s.ok(["exec", "c1", "--", "timeout", "5", "wget", "-q", "-O", "-", "http://\(farSide):8080/cgi-bin/who"]) == "\(hostSide)\n")

        let hostEnd = try s.ok(["config", "get", "c1", "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        try s.ok(["delete", "--force", "c1"])
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        try assertClean(s, network: net, hostEnds: [hostEnd])
    }

    /// `network attach`/`detach` and the `-profile` forms (LXD's): a nic device on the network, named
    /// after it unless given, its interface named after the device unless given; detach removes the
    /// container's own nic devices on that network (one, or all of them).
    @Test func attachAndDetach() throws {
        let s = try Sandbox.withoutNIC()
        let net = Self.uniqueName("sba")
        try s.ok(["network", "create", net])
        try s.ok(["create", "busybox", "c1"])
        #expect(try s.ok(["network", "attach", net, "c1"]) == "Device \(net) added to c1\n")
        try s.fails(["network", "attach", net, "c1"], "device \(net) already exists on container c1")
        try s.ok(["network", "attach", net, "c1", "lan", "eth1"])
        #expect(try s.ok(["config", "device", "get", "c1", "lan", "name"]) == "eth1\n")
        #expect(try s.ok(["config", "device", "get", "c1", net, "network"]) == "\(net)\n")
        try s.fails(["network", "attach", "nosuchnet", "c1"], "network nosuchnet not found")
        try s.ok(["start", "c1"])
        #expect(try s.ok(["exec", "c1", "--", "sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"]) == "eth0 eth1 lo ")
        try s.ok(["stop", "--force", "c1"])
        try s.fails(["network", "detach", net, "c1"], "container c1 has several nic devices on network \(net) (lan, \(net)); name the one to detach")
        #expect(try s.ok(["network", "detach", net, "c1", "lan"]) == "Device lan removed from c1\n")
        try s.fails(["network", "detach", net, "c1", "lan"], "container c1 has no nic device lan on network \(net) of its own")
        try s.ok(["network", "detach", net, "c1"])
        try s.fails(["network", "detach", net, "c1"], "container c1 has no nic device on network \(net) of its own")
        #expect(try s.ok(["config", "device", "list", "c1"]) == "")
        // A profile's.
        try s.ok(["network", "attach-profile", net, "default", "lan", "eth1"])
        #expect(try s.ok(["profile", "device", "get", "default", "lan", "network"]) == "\(net)\n")
        try s.ok(["network", "detach-profile", net, "default"])
        #expect(try s.ok(["profile", "device", "list", "default"]).contains("lan") == false)
        try s.ok(["delete", "c1"])
        try s.ok(["network", "delete", net])
        #expect(s.leftovers() == [])
    }

    @Test func concurrentLaunchesGetDistinctAddresses() throws {
        let s = try Sandbox()
        let net = Self.uniqueName("sbt")
        try s.ok(["network", "create", net])
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        let names = (0..<10).map { "p\($0)" }
        let runs = try names.map { try s.start(["launch", "busybox", $0], env: ["SYSBOX_DB_TIMEOUT": "60"]) }
        for (name, r) in zip(names, runs) {
            let result = try r.wait()
            #expect(result.status == 0, "launch \(name): \(result.stderr)")
        }
        let addresses = try leases(s, net)
        #expect(addresses.count == 10 && Set(addresses.values).count == 10, "\(addresses)")
        // Each container really has its own address on eth0.
        for name in names {
            let shown = try s.ok(["exec", name, "--", "ip", "-4", "-o", "addr", "show", "eth0"])
            #expect(shown.contains("inet \(addresses[name] ?? "?")/24"), "\(name): \(shown)")
        }
        let hostEnds = try names.map { try s.ok(["config", "get", $0, "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines) }
        try s.ok(["delete", "--force"] + names)
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        try assertClean(s, network: net, hostEnds: hostEnds)
    }

    @Test func badInputAndRepairs() throws {
        let s = try Sandbox()
        let net = Self.uniqueName("sbt")
        try s.ok(["network", "list"])
        let before = try s.dump()
        try s.fails(["network", "create", net, "ipv4.address=10.0.0.300/24"], "invalid value \"10.0.0.300/24\" for ipv4.address")
        try s.fails(["network", "create", net, "ipv4.address=10.1.2.0/24"], "is the network address of 10.1.2.0/24")
        try s.fails(["network", "create", net, "ipv4.adress=auto"], "unknown network key ipv4.adress; did you mean ipv4.address?")
        // LXD's IPv6 keys are said to be unsupported, not taken for a typo of ipv4.* (issue 14).
        try s.fails(["network", "create", net, "ipv6.address=auto"], "ipv6.address: IPv6 is not supported by sysbox networks yet")
        try s.fails(["network", "get", "sysboxbr0", "ipv6.nat"], "ipv6.nat: IPv6 is not supported by sysbox networks yet")
        // The host's own subnet (eth0's) is refused, naming what it overlaps.
        let hostRoute = try runProcess("/usr/sbin/ip", ["-o", "-4", "route", "show", "scope", "link"]).stdout
            .split(separator: "\n").first.map { String($0.split(separator: " ")[0]) }
        if let hostRoute, let subnet = hostRoute.split(separator: "/").first {
            var octets = subnet.split(separator: ".").map { Int($0) ?? 0 }
            octets[3] += 100
            try s.fails(["network", "create", net, "ipv4.address=\(octets.map(String.init).joined(separator: "."))/24"], "overlaps \(hostRoute) on the host")
        }
        try s.fails(["network", "create", "sbt0123456789abc"], "at most 15")
        try s.fails(["network", "create", "lo"], "lo is reserved by the kernel")
        try s.fails(["network", "create", "eth0"], "a network interface named eth0 already exists on this host (an interface not made by sysbox)")
        #expect(try s.dump() == before)
        #expect(!(try hostLinks()).contains(": \(net):"))

        // A NIC on a network that does not exist, named lo, or whose device name is no interface name:
        // refused when it is configured.
        try s.ok(["create", "busybox", "c1"])
        try s.fails(
            ["config", "device", "add", "c1", "eth1", "nic", "network=nosuchnet"], "device eth1: network nosuchnet does not exist; create it first: sysbox network create nosuchnet"
        )
        try s.fails(["profile", "device", "add", "default", "eth9", "nic", "network=nosuchnet"], "network nosuchnet does not exist")
        try s.fails(["config", "device", "add", "c1", "eth1", "nic", "network=sysboxbr0", "name=lo"], "lo is the container's loopback interface")
        try s.fails(["config", "device", "add", "c1", "verylongdevicename0", "nic", "network=sysboxbr0"], "without a name key the device name is the interface name")
        try s.fails(["network", "create", "all"], "all is reserved by the kernel")
        try s.fails(["network", "create", net, "ipv4.address=fd00::1/64"], "IPv6 is not supported yet")
        try s.fails(["network", "create", net, "ipv4.address=none"], "a network without IPv4 (none) is not supported yet")

        try s.ok(["network", "create", net, "ipv4.address=10.213.77.1/24"])
        try s.fails(["network", "create", Self.uniqueName("sbt"), "ipv4.address=10.213.77.50/25"], "overlaps network \(net)")
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        try s.ok(["config", "device", "override", "c1", "eth0", "ipv4.address=10.213.77.50"])
        try s.ok(["start", "c1"])
        #expect(try leases(s, net)["c1"] == "10.213.77.50")
        // A taken static address: refused at config time, naming the holder.
        try s.ok(["create", "busybox", "c2"])
        try s.fails(["config", "device", "override", "c2", "eth0", "ipv4.address=10.213.77.50"], "10.213.77.50 is already leased to c1 (eth0)")
        try s.fails(["config", "device", "override", "c2", "eth0", "ipv4.address=10.213.77.1"], "is reserved")
        try s.fails(["config", "device", "override", "c2", "eth0", "ipv4.address=10.213.78.5"], "is not in network 10.213.77.0/24")
        // A subnet change while a container runs is refused; one that would strand a static address too.
        try s.fails(["network", "set", net, "ipv4.address=10.213.79.1/24"], "stop them before changing ipv4.address")
        // A static address declared by a container that never started is not handed to another one,
        // nor given twice; a profile that would clash is refused when it is added.
        try s.ok(["config", "device", "override", "c2", "eth0", "ipv4.address=10.213.77.2"])
        try s.ok(["launch", "busybox", "c4"])
        #expect(try leases(s, net)["c4"] == "10.213.77.3")
        try s.fails(["config", "device", "override", "c4", "eth0", "ipv4.address=10.213.77.2"], "10.213.77.2 is already leased to c2 (eth0)")
        try s.ok(["profile", "create", "staticp"])
        try s.ok(["profile", "device", "add", "staticp", "eth0", "nic", "network=\(net)", "ipv4.address=10.213.77.50"])
        try s.fails(["profile", "add", "c4", "staticp"], "10.213.77.50 is already leased to c1 (eth0)")
        // Two NICs of one container cannot claim one address.
        let added = try s.run(["config", "device", "add", "c4", "eth1", "nic", "network=\(net)", "ipv4.address=10.213.77.9"])
        #expect(added.status == 0 && added.stderr == "Note: devices are set up at start: c4 gets this change at the next start (sysbox restart c4)\n", "\(added.stderr)")
        try s.fails(
            ["config", "device", "add", "c4", "eth2", "nic", "network=\(net)", "ipv4.address=10.213.77.9"],
            "devices eth1 and eth2 both have ipv4.address 10.213.77.9 on network \(net)")
        try s.ok(["config", "device", "remove", "c4", "eth1"])
        // A MAC another NIC on the network uses is refused at start.
        let mac1 = try s.ok(["config", "get", "c1", "volatile.eth0.hwaddr"]).trimmingCharacters(in: .newlines)
        try s.ok(["config", "device", "override", "c4", "eth0", "hwaddr=\(mac1)"])
        try s.fails(["restart", "c4"], "device eth0: hwaddr \(mac1) is already used by c1 (eth0) on network \(net)")
        try s.ok(["config", "device", "unset", "c4", "eth0", "hwaddr"])
        try s.ok(["start", "c4"])

        // A killed dnsmasq is restarted by the network monitor, and names resolve again.
        let pidFile = "/run/sysbox/net/\(net)/dnsmasq.pid"
        let firstPid = try #require(Int32((try String(contentsOfFile: pidFile, encoding: .utf8)).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(firstPid, SIGKILL)
        try waitUntil {
            let text = (try? String(contentsOfFile: pidFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return text.flatMap { Int32($0) }.map { $0 != firstPid && kill($0, 0) == 0 } ?? false
        }
        try waitUntil { (try s.run(["exec", "c1", "--", "nslookup", "c1"])).stdout.contains("10.213.77.50") }

        // A host end left behind (a killed monitor whose namespace lingered): the next start replaces it.
        let hostEnd = try s.ok(["config", "get", "c1", "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        try s.ok(["stop", "--force", "c1"])
        #expect(!(try hostLinks()).contains(": \(hostEnd)@"))
        let fake = try runProcess("/usr/sbin/ip", ["link", "add", hostEnd, "master", net, "type", "veth", "peer", "name", Self.uniqueName("sbp")])
        try #require(fake.status == 0, "\(fake.stderr)")
        try s.ok(["start", "c1"])
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "2", "10.213.77.1"]).contains("1 packets received"))

        // Rules flushed behind sysbox's back (nft flush ruleset) come back at the next start.
        try s.ok(["stop", "--force", "c1"])
        _ = try runProcess("/usr/sbin/nft", ["delete", "table", "ip", "sysbox-\(net)"])
        try s.ok(["start", "c1"])
        #expect(try runProcess("/usr/sbin/nft", ["list", "table", "ip", "sysbox-\(net)"]).stdout.contains("masquerade"))
        // After a host reboot nothing of the network is left on the host (bridge, rules, dnsmasq, run
        // directory): the next start rebuilds all of it from the database.
        try s.ok(["stop", "--force", "c1"])
        if let monitor = (try? String(contentsOfFile: "/run/sysbox/net/\(net)/monitor.pid", encoding: .utf8))?.split(separator: " ").first.flatMap({ Int32($0) }) {
            kill(monitor, SIGTERM)
        }
        try waitUntil { !FileManager.default.fileExists(atPath: "/run/sysbox/net/\(net)/dnsmasq.pid") }
        _ = try runProcess("/usr/sbin/ip", ["link", "delete", net])
        _ = try runProcess("/usr/sbin/nft", ["delete", "table", "ip", "sysbox-\(net)"])
        try FileManager.default.removeItem(atPath: "/run/sysbox/net/\(net)")
        #expect(try s.ok(["network", "list", "--format", "csv,noheader"]).contains(",DOWN"))
        try s.ok(["start", "c1"])
        #expect(try s.ok(["network", "list", "--format", "csv,noheader"]).contains(",UP"))
        #expect(try runProcess("/usr/sbin/nft", ["list", "table", "ip", "sysbox-\(net)"]).stdout.contains("masquerade"))
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "2", "10.213.77.1"]).contains("1 packets received"))
        try waitUntil { (try s.run(["exec", "c1", "--", "nslookup", "c1"])).stdout.contains("10.213.77.50") }

        // With everything stopped, a new subnet is refused while a static address would not fit it.
        try s.ok(["stop", "--force", "c1", "c4"])
        try s.fails(
            ["network", "set", net, "ipv4.address=10.213.79.1/24"],
            "container c1 device eth0 has the static ipv4.address 10.213.77.50, which would not be a usable address of 10.213.79.0/24")

        try s.ok(["delete", "--force", "c1", "c2", "c4"])
        try s.ok(["profile", "delete", "staticp"])
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        try assertClean(s, network: net, hostEnds: [hostEnd])
    }

    /// The default network is created the first time a container needs it. Bridge names are host-wide,
    /// so the test names its default network (SYSBOX_DEFAULT_NETWORK at the state directory's first use)
    /// and never meets a user's own sysboxbr0 (issue 14: a user's launch made this test fail).
    @Test func defaultNetworkOnFirstUse() throws {
        let net = "sbd" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(8))
        let first = ["SYSBOX_DEFAULT_NETWORK": net]
        try #require(!(try hostLinks()).contains(": \(net):"), "a \(net) exists on this host; this test needs it absent")
        let s = try Sandbox()
        try s.ok(["launch", "busybox", "c1"], env: first)
        #expect(try s.ok(["profile", "device", "get", "default", "eth0", "network"]) == "\(net)\n")
        let cidr = try s.ok(["network", "get", net, "ipv4.address"]).trimmingCharacters(in: .newlines)
        #expect(cidr.hasPrefix("10.") && cidr.hasSuffix("/24"))
        #expect(try leases(s, net)["c1"] != nil)
        #expect(try s.ok(["exec", "c1", "--", "ping", "-c", "1", "-W", "2", String(cidr.dropLast(3))]).contains("1 packets received"))
        let hostEnd = try s.ok(["config", "get", "c1", "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines)
        // Another state directory cannot use a default bridge that is not its own, and is told what to do.
        let other = try Sandbox()
        try other.ok(["create", "busybox", "o1"], env: first)
        try other.fails(
            ["start", "o1"],
            "the default network \(net) cannot be created here: a network interface named \(net) already exists on this host (the bridge of the sysbox state directory \(s.stateDir)); create another network and use it"
        )
        // The variable counts only at a state directory's first use; a bad name changes nothing.
        let bad = try Sandbox()
        try bad.fails(["list"], "SYSBOX_DEFAULT_NETWORK \"bad_name\" is not a valid network name", env: ["SYSBOX_DEFAULT_NETWORK": "bad_name"])
        try s.ok(["delete", "--force", "c1"])
        try s.fails(["network", "delete", net], "in use by profile default")
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        try assertClean(s, network: net, hostEnds: [hostEnd])
    }

    /// A copy leaves out the static ipv4.address of its own NIC (the source holds it) and says so in
    /// one line; the copy then starts with a free address (issue 14: it could not start at all).
    @Test func copyLeavesOutStaticAddress() throws {
        let s = try Sandbox()
        let net = Self.uniqueName("sbt")
        try s.ok(["network", "create", net])
        let cidr = try s.ok(["network", "get", net, "ipv4.address"]).trimmingCharacters(in: .newlines)
        let fixed = cidr.split(separator: ".").prefix(3).joined(separator: ".") + ".50"
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        try s.ok(["create", "busybox", "t1"])
        try s.ok(["config", "device", "override", "t1", "eth0", "ipv4.address=\(fixed)"])
        let copied = try s.run(["copy", "t1", "t9"])
        #expect(copied.status == 0 && copied.stdout == "Container t1 copied to t9\n", "\(copied.stderr)")
        #expect(
            copied.stderr
                == "Note: device eth0 of t9: the static ipv4.address \(fixed) is not copied (t1 holds it); t9 gets a free address at its first start, or give one with: sysbox config device set t9 eth0 ipv4.address=ADDRESS\n",
            "\(copied.stderr)")
        // The copy keeps its own NIC (network and all) without the address.
        #expect(try s.ok(["config", "device", "get", "t9", "eth0", "network"]) == "\(net)\n")
        #expect(try s.ok(["config", "device", "get", "t1", "eth0", "ipv4.address"]) == "\(fixed)\n")
        try s.ok(["start", "t1"])
        try s.ok(["start", "t9"])
        let leased = try leases(s, net)
        #expect(leased["t1"] == fixed && leased["t9"] != nil && leased["t9"] != fixed, "\(leased)")
        let hostEnds = try ["t1", "t9"].map { try s.ok(["config", "get", $0, "volatile.eth0.host_name"]).trimmingCharacters(in: .newlines) }
        try s.ok(["delete", "--force", "t1", "t9"])
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        try assertClean(s, network: net, hostEnds: hostEnds)
    }
}
