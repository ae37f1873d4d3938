import Foundation
import Testing

/// `proxy` devices through the binary: host ports forwarded into busybox containers, TCP and UDP,
/// from the host and from another network namespace (an outside client behind a veth pair); nat=true
/// with a static address; clashes, bad values, and no forwarder left after stop, a killed monitor or
/// delete. Root only; unusual high ports and unique names per test.
@Suite(.serialized) struct ProxyTests {
    init() throws {
        try #require(getuid() == 0, "the proxy tests start containers and must run as root")
        for tool in ["/usr/sbin/nft", "/usr/sbin/ip", "/usr/bin/busybox", "/usr/bin/python3", "/usr/bin/nsenter"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/setup.sh")
        }
    }

    static func uniqueName(_ prefix: String) -> String {
        prefix + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(15 - prefix.count))
    }

    /// A free-looking high port (distinct per call).
    static func port() -> Int { Int.random(in: 41000...48999) }

    /// An HTTP GET over bash's /dev/tcp (in `netns` when given): the whole response, "" when refused.
    func httpGet(_ address: String, _ port: Int, netns: String? = nil) throws -> String {
        let script = "exec 3<>/dev/tcp/\(address)/\(port) && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 3 cat <&3"
        let prefix = netns.map { ["netns", "exec", $0, "/bin/bash", "-c", script] }
        return try prefix.map { try runProcess("/usr/sbin/ip", $0).stdout } ?? runProcess("/bin/bash", ["-c", script]).stdout
    }

    /// One UDP datagram "ping" to address:port (from `netns` when given); the reply, "" after 3 s.
    func udpAsk(_ address: String, _ port: Int, netns: String? = nil) throws -> String {
        let code = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
            s.sendto(b"ping", ("\(address)", \(port)))
            try: print(s.recv(100).decode())
            except socket.timeout: pass
            """
        let args = ["/usr/bin/python3", "-c", code]
        return try (netns.map { try runProcess("/usr/sbin/ip", ["netns", "exec", $0] + args) } ?? runProcess(args[0], Array(args.dropFirst()))).stdout
            .trimmingCharacters(in: .newlines)
    }

    /// busybox httpd inside the container on `port`, serving "hello NAME".
    func serveHTTP(_ s: Sandbox, _ name: String, port: Int = 80) throws {
        try s.ok(["exec", name, "--", "sh", "-c", "mkdir -p /www && echo hello \(name) > /www/index.html && httpd -p \(port) -h /www"])
    }

    func initPid(_ s: Sandbox, _ name: String) throws -> Int32 {
        try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/\(name)/init.pid", encoding: .utf8).split(separator: " ")[0]))
    }

    /// A UDP echo server ("pong DATA") in the container's network namespace, on 127.0.0.1:port there.
    func serveUDP(_ s: Sandbox, _ name: String, port: Int) throws -> Running {
        let code = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", \(port)))
            while True:
                d, a = s.recvfrom(100); s.sendto(b"pong " + d, a)
            """
        let server = try Running("/usr/bin/nsenter", ["--net=/proc/\(try initPid(s, name))/ns/net", "/usr/bin/python3", "-c", code])
        usleep(300_000)
        return server
    }

    /// The live forwarder pids of a container (its proxy-DEVICE.pid files).
    func forwarders(_ s: Sandbox, _ name: String) -> [Int32] {
        let dir = s.stateDir + "/containers/\(name)"
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix("proxy-") && $0.hasSuffix(".pid") }.compactMap {
            (try? String(contentsOfFile: dir + "/" + $0, encoding: .utf8))?.split(separator: " ").first.flatMap { Int32($0) }
        }
    }

    /// Whether something on the host listens on the TCP port (a bind of it fails; SO_REUSEADDR: the
    /// closed connections' TIME_WAIT sockets on it do not count).
    func portTaken(_ port: Int) throws -> Bool {
        let code =
            "import socket\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ntry: s.bind(('0.0.0.0', \(port))); print('free')\nexcept OSError: print('taken')"
        return try runProcess("/usr/bin/python3", ["-c", code]).stdout.hasPrefix("taken")
    }

    /// An "outside" network namespace behind a veth pair: (namespace, host-side address).
    func outsideNamespace() throws -> (String, String, () -> Void) {
        let ns = Self.uniqueName("sbp")
        let base = 4 * Int.random(in: 1...62)
        let (hostSide, farSide) = ("198.51.100.\(base + 1)", "198.51.100.\(base + 2)")
        try #require(try runProcess("/usr/sbin/ip", ["netns", "add", ns]).status == 0)
        let cleanup = {
            _ = try? runProcess("/usr/sbin/ip", ["netns", "pids", ns]).stdout.split(separator: "\n").compactMap { Int32($0) }.forEach { kill($0, SIGKILL) }
            _ = try? runProcess("/usr/sbin/ip", ["link", "delete", ns])
            _ = try? runProcess("/usr/sbin/ip", ["netns", "delete", ns])
        }
        for args in [
            ["link", "add", ns, "type", "veth", "peer", "name", "o0", "netns", ns],
            ["addr", "add", "\(hostSide)/30", "dev", ns], ["link", "set", ns, "up"],
            ["-n", ns, "addr", "add", "\(farSide)/30", "dev", "o0"], ["-n", ns, "link", "set", "o0", "up"],
            ["-n", ns, "link", "set", "lo", "up"], ["-n", ns, "route", "add", "default", "via", hostSide]
        ] {
            let r = try runProcess("/usr/sbin/ip", args)
            if r.status != 0 { cleanup() }
            try #require(r.status == 0, "ip \(args.joined(separator: " ")): \(r.stderr)")
        }
        return (ns, hostSide, cleanup)
    }

    @Test func tcpAndUdpFromTheHostAndAnOutsideNamespace() throws {
        let s = try Sandbox.withoutNIC()
        let (web, dns, down) = (Self.port(), Self.port() + 1000, Self.port() - 1000)
        try s.ok(["create", "busybox", "px1"])
        try s.ok(["config", "device", "add", "px1", "web", "proxy", "listen=tcp:0.0.0.0:\(web)", "connect=tcp:127.0.0.1:80"])
        try s.ok(["config", "device", "add", "px1", "dns", "proxy", "listen=udp:0.0.0.0:\(dns)", "connect=udp:127.0.0.1:5353", "bind=host"])
        // A connect target nobody listens on.
        try s.ok(["config", "device", "add", "px1", "down", "proxy", "listen=tcp:127.0.0.1:\(down)", "connect=tcp:127.0.0.1:81"])
        #expect(try s.ok(["config", "device", "show", "px1"]).contains("listen: tcp:0.0.0.0:\(web)"))
        try s.ok(["start", "px1"])
        #expect(forwarders(s, "px1").count == 3)
        try serveHTTP(s, "px1")
        let udp = try serveUDP(s, "px1", port: 5353)
        defer {
            kill(udp.process.processIdentifier, SIGKILL)
            _ = try? udp.wait()
        }
        // From the host.
        #expect(try httpGet("127.0.0.1", web).hasSuffix("\r\n\r\nhello px1\n"))
        #expect(try udpAsk("127.0.0.1", dns) == "pong ping")
        // From another network namespace, to the host's address on its veth.
        let (ns, hostSide, cleanup) = try outsideNamespace()
        defer { cleanup() }
        #expect(try httpGet(hostSide, web, netns: ns).hasSuffix("hello px1\n"))
        #expect(try udpAsk(hostSide, dns, netns: ns) == "pong ping")
        // listen=127.0.0.1: not reachable from outside; the target down: the client's connection is
        // closed at once, and the forwarder serves the next one.
        #expect(try httpGet(hostSide, down, netns: ns) == "")
        let started = Date()
        #expect(try httpGet("127.0.0.1", down) == "")
        #expect(Date().timeIntervalSince(started) < 2)
        try s.ok(["exec", "px1", "--", "sh", "-c", "mkdir -p /w2 && echo up > /w2/index.html && httpd -p 81 -h /w2"])
        #expect(try httpGet("127.0.0.1", down).hasSuffix("\r\n\r\nup\n"))
        #expect(forwarders(s, "px1").count == 3)
        // Many connections, one after the other and at once.
        let batch = try (0..<20).map { _ in try Running("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(web) && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 cat <&3"]) }
        for r in batch { #expect(try r.wait().stdout.hasSuffix("hello px1\n")) }

        // Stop: no forwarder, no pid file, the ports free.
        let pids = forwarders(s, "px1")
        try s.ok(["stop", "px1"])
        for pid in pids { #expect(kill(pid, 0) != 0, "forwarder \(pid) survived the stop") }
        #expect(forwarders(s, "px1") == [])
        #expect(try !portTaken(web))
        // A restart takes the ports again.
        try s.ok(["start", "px1"])
        try serveHTTP(s, "px1")
        #expect(try httpGet("127.0.0.1", web).hasSuffix("hello px1\n"))
        try s.ok(["delete", "--force", "px1"])
        #expect(try !portTaken(web))
        #expect(s.leftovers() == [])
    }

    @Test func unprivilegedContainer() throws {
        let s = try Sandbox.withoutNIC()
        let p = Self.port()
        try s.ok(["create", "busybox", "pu1", "-c", "security.privileged=false"])
        try s.ok(["config", "device", "add", "pu1", "web", "proxy", "listen=tcp:127.0.0.1:\(p)", "connect=tcp:127.0.0.1:8080"])
        try s.ok(["start", "pu1"])
        try serveHTTP(s, "pu1", port: 8080)
        #expect(try httpGet("127.0.0.1", p).hasSuffix("hello pu1\n"))
        try s.ok(["delete", "--force", "pu1"])
        #expect(try !portTaken(p))
        #expect(s.leftovers() == [])
    }

    @Test func noForwarderAfterAKilledMonitorOrADelete() throws {
        let s = try Sandbox.withoutNIC()
        let p = Self.port()
        try s.ok(["create", "busybox", "pk1"])
        try s.ok(["config", "device", "add", "pk1", "web", "proxy", "listen=tcp:0.0.0.0:\(p)", "connect=tcp:127.0.0.1:80"])
        try s.ok(["start", "pk1"])
        let first = forwarders(s, "pk1")
        #expect(first.count == 1)
        // A reboot from inside: the same forwarder connects into the new init's network namespace.
        let oldInit = try initPid(s, "pk1")
        _ = try s.run(["exec", "pk1", "--", "reboot", "-f"])
        try waitUntil { (try? initPid(s, "pk1")).map { $0 != oldInit && kill($0, 0) == 0 } ?? false }
        try serveHTTP(s, "pk1")
        #expect(try httpGet("127.0.0.1", p).hasSuffix("hello pk1\n"))
        #expect(forwarders(s, "pk1") == first)
        // A device added while it runs: set up at the next start, as other devices (the note says so).
        let added = try s.run(["config", "device", "add", "pk1", "more", "proxy", "listen=tcp:127.0.0.1:\(p + 1)", "connect=tcp:127.0.0.1:80"])
        #expect(added.ok && added.stderr.contains("next start"), "\(added.stderr)")
        #expect(forwarders(s, "pk1") == first)
        try s.ok(["config", "device", "remove", "pk1", "more"])
        let monitor = try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/pk1/monitor.pid", encoding: .utf8).split(separator: " ")[0]))
        kill(monitor, SIGKILL)
        try waitUntil { first.allSatisfy { kill($0, 0) != 0 } }
        try waitUntil { try !portTaken(p) }
        try waitUntil { try s.ok(["list", "--format", "csv,noheader"]).contains("pk1,STOPPED") }
        // The next start takes the port again.
        try s.ok(["start", "pk1"])
        let second = forwarders(s, "pk1")
        #expect(second.count == 1 && second != first)
        #expect(try portTaken(p))
        try s.ok(["delete", "--force", "pk1"])
        for pid in second { #expect(kill(pid, 0) != 0, "forwarder \(pid) survived the delete") }
        #expect(try !portTaken(p))
        #expect(s.leftovers() == [])
    }

    @Test func clashesAndBadValues() throws {
        let s = try Sandbox.withoutNIC()
        let p = Self.port()
        try s.ok(["create", "busybox", "pc1"])
        try s.ok(["create", "busybox", "pc2"])
        try s.ok(["config", "device", "add", "pc1", "web", "proxy", "listen=tcp:0.0.0.0:\(p)", "connect=tcp:127.0.0.1:80"])
        try s.ok(["config", "device", "add", "pc2", "web", "proxy", "listen=tcp:127.0.0.1:\(p)", "connect=tcp:127.0.0.1:80"])
        try s.ok(["start", "pc1"])
        // The second container on the same port: a one-line error naming the device and port; it stays
        // stopped with nothing behind, and the first one keeps its port.
        try s.fails(["start", "pc2"], "cannot start pc2: device web (proxy): cannot listen on tcp:127.0.0.1:\(p): the port is already in use on the host")
        #expect(try s.ok(["list", "--format", "csv,noheader"]).contains("pc2,STOPPED"))
        #expect(forwarders(s, "pc2") == [])
        #expect(try s.ok(["info", "pc2"]).contains("already in use"))
        #expect(forwarders(s, "pc1").count == 1)
        // Another port for the second: both run.
        try s.ok(["config", "device", "set", "pc2", "web", "listen=tcp:127.0.0.1:\(p + 1)"])
        try s.ok(["start", "pc2"])
        try s.ok(["stop", "pc1", "pc2"])

        // Bad values: one line, naming the value and the fix, nothing changed.
        let before = try s.dump()
        let add = ["config", "device", "add", "pc1", "bad", "proxy"]
        try s.fails(add + ["listen=tcp:0.0.0.0:8000-8010", "connect=tcp:127.0.0.1:80"], "port ranges and lists are not supported; add one proxy device per port")
        try s.fails(add + ["listen=tcp:0.0.0.0:80,443", "connect=tcp:127.0.0.1:80"], "port ranges and lists are not supported")
        try s.fails(add + ["listen=sctp:0.0.0.0:80", "connect=tcp:127.0.0.1:80"], "unknown type \"sctp\"; use tcp or udp")
        try s.fails(add + ["listen=tcp:[::]:80", "connect=tcp:127.0.0.1:80"], "IPv6 addresses are not supported")
        try s.fails(add + ["listen=tcp:localhost:80", "connect=tcp:127.0.0.1:80"], "\"localhost\" is not an IPv4 address (host names are not resolved)")
        try s.fails(add + ["listen=tcp:0.0.0.0:70000", "connect=tcp:127.0.0.1:80"], "the port must be a number from 1 to 65535")
        try s.fails(add + ["listen=0.0.0.0:80", "connect=tcp:127.0.0.1:80"], "invalid value \"0.0.0.0:80\" for listen")
        try s.fails(add + ["listen=unix:/run/x.sock", "connect=tcp:127.0.0.1:80"], "unix sockets are not supported")
        try s.fails(add + ["listen=tcp:0.0.0.0:80"], "device bad (proxy) needs connect")
        try s.fails(add + ["listen=udp:0.0.0.0:80", "connect=tcp:127.0.0.1:80"], "listen is udp and connect is tcp; use the same type on both")
        try s.fails(
            add + ["listen=tcp:0.0.0.0:80", "connect=tcp:127.0.0.1:80", "bind=container"], "bind=container (listening inside the container) is not supported; use bind=host")
        try s.fails(add + ["listen=tcp:0.0.0.0:80", "connect=tcp:127.0.0.1:80", "nat=maybe"], "expected true or false")
        try s.fails(
            add + ["listen=tcp:0.0.0.0:80", "connect=tcp:127.0.0.1:80", "nat=true"], "with nat=true, connect must be the container's static address or 0.0.0.0 (not 127.0.0.1)")
        try s.fails(add + ["listen=tcp:0.0.0.0:80", "connect=tcp:127.0.0.1:80", "port=80"], "unknown key port")
        try s.fails(
            ["config", "device", "add", "pc1", "web2", "proxy", "listen=tcp:127.0.0.1:\(p)", "connect=tcp:127.0.0.1:81"], "devices web and web2 both listen on tcp port \(p)")
        #expect(try s.dump() == before)
        // nat=true without a static address: refused at start, naming the key to set.
        try s.ok(add + ["listen=tcp:0.0.0.0:\(p + 2)", "connect=tcp:0.0.0.0:80", "nat=true"])
        try s.fails(["start", "pc1"], "device bad (proxy): nat=true needs a static address on the container's NIC; set ipv4.address")
        #expect(try s.ok(["list", "--format", "csv,noheader"]).contains("pc1,STOPPED"))
        try s.ok(["delete", "pc1", "pc2"])
        #expect(s.leftovers() == [])
    }

    @Test func natWithAStaticAddress() throws {
        let s = try Sandbox()
        let net = Self.uniqueName("sbq")
        let third = Int.random(in: 2...250)
        let prefix = "10.219.\(third)"
        let p = Self.port()
        try s.ok(["network", "create", net, "ipv4.address=\(prefix).1/24"])
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        try s.ok(["create", "busybox", "pn1"])
        try s.ok(["config", "device", "override", "pn1", "eth0", "ipv4.address=\(prefix).50"])
        // connect's 0.0.0.0: the static address (LXD's rule); the address itself is fine too.
        try s.ok(["config", "device", "add", "pn1", "web", "proxy", "listen=tcp:0.0.0.0:\(p)", "connect=tcp:0.0.0.0:80", "nat=true"])
        try s.ok(["config", "device", "add", "pn1", "dns", "proxy", "listen=udp:0.0.0.0:\(p)", "connect=udp:\(prefix).50:5353", "nat=true"])
        try s.ok(["start", "pn1"])
        let table = "sysbox-proxy-pn1"
        let rules = try runProcess("/usr/sbin/nft", ["list", "table", "ip", table]).stdout
        #expect(rules.contains("tcp dport \(p) dnat to \(prefix).50:80 comment \"pn1/web\""), "\(rules)")
        #expect(rules.contains("udp dport \(p) dnat to \(prefix).50:5353 comment \"pn1/dns\""), "\(rules)")
        #expect(forwarders(s, "pn1") == [])  // no process
        try serveHTTP(s, "pn1")
        let udpCode = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353))
            while True:
                d, a = s.recvfrom(100); s.sendto(b"pong " + d, a)
            """
        let udp = try Running("/usr/bin/nsenter", ["--net=/proc/\(try initPid(s, "pn1"))/ns/net", "/usr/bin/python3", "-c", udpCode])
        defer {
            kill(udp.process.processIdentifier, SIGKILL)
            _ = try? udp.wait()
        }
        usleep(300_000)
        // An outside client to the host's address; the host itself to the bridge's address.
        let (ns, hostSide, cleanup) = try outsideNamespace()
        defer { cleanup() }
        #expect(try httpGet(hostSide, p, netns: ns).hasSuffix("hello pn1\n"))
        #expect(try udpAsk(hostSide, p, netns: ns) == "pong ping")
        #expect(try httpGet("\(prefix).1", p).hasSuffix("hello pn1\n"))

        // A second container forwarding the same port with NAT: refused at its start.
        try s.ok(["create", "busybox", "pn2"])
        try s.ok(["config", "device", "override", "pn2", "eth0", "ipv4.address=\(prefix).51"])
        try s.ok(["config", "device", "add", "pn2", "web", "proxy", "listen=tcp:\(hostSide):\(p)", "connect=tcp:\(prefix).51:80", "nat=true"])
        try s.fails(["start", "pn2"], "device web (proxy): tcp port \(p) is already forwarded to container pn1 (its device web)")
        #expect(try !runProcess("/usr/sbin/nft", ["list", "tables"]).stdout.contains("sysbox-proxy-pn2"))
        // pn1's monitor killed: its init dies with it; its table, left behind, does not block pn2 and
        // goes at pn2's start.
        let monitor = try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/pn1/monitor.pid", encoding: .utf8).split(separator: " ")[0]))
        kill(monitor, SIGKILL)
        try waitUntil { try s.ok(["list", "--format", "csv,noheader"]).contains("pn1,STOPPED") }
        // connect must be the static address (checked at start, as LXD does).
        try s.ok(["config", "device", "set", "pn2", "web", "connect=tcp:\(prefix).99:80"])
        try s.fails(["start", "pn2"], "with nat=true, connect must be the container's static address \(prefix).51 or 0.0.0.0 (not \(prefix).99)")
        try s.ok(["config", "device", "set", "pn2", "web", "connect=tcp:\(prefix).51:80"])
        try s.ok(["start", "pn2"])
        var tables = try runProcess("/usr/sbin/nft", ["list", "tables"]).stdout
        #expect(!tables.contains(table + "\n") && tables.contains("sysbox-proxy-pn2\n"), "\(tables)")
        try serveHTTP(s, "pn2")
        #expect(try httpGet(hostSide, p, netns: ns).hasSuffix("hello pn2\n"))
        // A stop deletes the table.
        try s.ok(["stop", "pn2"])
        tables = try runProcess("/usr/sbin/nft", ["list", "tables"]).stdout
        #expect(!tables.contains("sysbox-proxy-pn2\n"), "\(tables)")
        try s.ok(["start", "pn1"])
        try s.ok(["delete", "--force", "pn1", "pn2"])
        #expect(try !runProcess("/usr/sbin/nft", ["list", "tables"]).stdout.contains("sysbox-proxy-pn"))
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        #expect(s.networkLeftovers() == [])
        #expect(s.leftovers() == [])
    }
}
