import CSysbox
import Foundation
import SysboxNetlink
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// One end of a `proxy` device, LXD's `TYPE:ADDRESS:PORT` (`tcp:0.0.0.0:8080`): IPv4, one port.
public struct ProxyEndpoint: Equatable, Sendable, Codable {
    /// `tcp` or `udp`.
    public var proto: String
    public var address: String
    public var port: Int

    public var text: String { "\(proto):\(address):\(port)" }

    /// Parses `tcp:ADDR:PORT` / `udp:ADDR:PORT`. Port ranges and lists (LXD's `80-90`, `80,443`),
    /// IPv6 and unix sockets are refused by name (not supported yet).
    public static func parse(_ s: String) throws(ValueError) -> ProxyEndpoint {
        guard let colon = s.firstIndex(of: ":") else { throw ValueError("expected TYPE:ADDRESS:PORT, e.g. tcp:0.0.0.0:8080") }
        let proto = String(s[..<colon])
        let rest = s[s.index(after: colon)...]
        if proto == "unix" { throw ValueError("unix sockets are not supported; use tcp or udp, e.g. tcp:127.0.0.1:80") }
        guard proto == "tcp" || proto == "udp" else {
            throw ValueError("unknown type \(Names.quote(proto)); use tcp or udp, e.g. tcp:0.0.0.0:8080")
        }
        if rest.hasPrefix("[") { throw ValueError("IPv6 addresses are not supported; use an IPv4 address, e.g. \(proto):0.0.0.0:8080") }
        guard let last = rest.lastIndex(of: ":") else { throw ValueError("expected \(proto):ADDRESS:PORT, e.g. \(proto):0.0.0.0:8080") }
        let address = String(rest[..<last]), portText = String(rest[rest.index(after: last)...])
        if address.contains(":") { throw ValueError("IPv6 addresses are not supported; use an IPv4 address, e.g. \(proto):0.0.0.0:8080") }
        let octets: [UInt8]
        do { octets = try Values.ipv4(address) } catch {
            throw ValueError("\(Names.quote(address)) is not an IPv4 address (host names are not resolved); e.g. \(proto):0.0.0.0:8080")
        }
        if portText.contains("-") || portText.contains(",") {
            throw ValueError("port ranges and lists are not supported; add one proxy device per port")
        }
        let port: Int64
        do { port = try Values.integer(portText, in: 1...65535) } catch { throw ValueError("the port must be a number from 1 to 65535") }
        return ProxyEndpoint(proto: proto, address: octets.map(String.init).joined(separator: "."), port: Int(port))
    }
}

/// What the monitor sets up for one proxy device (containers/NAME/proxies.json, written by `start`).
struct ProxySpec: Codable, Equatable, Sendable {
    var device: String
    var listen: ProxyEndpoint
    /// With `nat`: the container's static address (connect's 0.0.0.0 resolved).
    var connect: ProxyEndpoint
    var nat: Bool
}

/// `proxy` devices (LXD's keys `listen`, `connect`, `bind`, `nat`): host ports forwarded into a
/// container. nat=false: one forwarder process per device (`sysbox __proxy`, proxy.c), a child of the
/// container's monitor that dies with it; it listens on the host and connects from inside the
/// container's network namespace. nat=true: DNAT rules in the container's own nftables table
/// `ip sysbox-proxy-NAME`, deleted at stop.
public enum Proxies {
    /// The spec file in a container's directory.
    static func specPath(_ directory: String) -> String { directory + "/proxies.json" }

    /// A forwarder's pid file.
    static func pidPath(_ directory: String, device: String) -> String { directory + "/proxy-\(device).pid" }

    /// The nftables table of a container's nat=true devices.
    static func table(_ container: String) -> String { "sysbox-proxy-\(container)" }

    /// Checks what a proxy device needs as a whole (its keys were checked one by one).
    static func validateComplete(name: String, _ config: [String: String]) throws {
        guard let listenText = config["listen"], let connectText = config["connect"] else { return }
        guard let listen = try? ProxyEndpoint.parse(listenText), let connect = try? ProxyEndpoint.parse(connectText) else { return }
        if listen.proto != connect.proto {
            throw SysboxError.invalid("device \(name) (proxy): listen is \(listen.proto) and connect is \(connect.proto); use the same type on both (tcp to tcp, udp to udp)")
        }
        if (try? Values.bool(config["nat"] ?? "false")) == true, connect.address.hasPrefix("127.") {
            throw SysboxError.invalid(
                "device \(name) (proxy): with nat=true, connect must be the container's static address or 0.0.0.0 (not \(connect.address)); e.g. connect=\(connect.proto):0.0.0.0:\(connect.port)"
            )
        }
    }

    /// The specs of a container's expanded devices. nat=true needs a NIC with `ipv4.address` (LXD's
    /// rule); connect's address must be that address or 0.0.0.0.
    /// - Throws: `SysboxError(.invalidArgument)` naming the device and the fix.
    static func specs(_ devices: DeviceMap) throws -> [ProxySpec] {
        var out: [ProxySpec] = []
        for (name, config) in devices.sorted(by: { $0.key < $1.key }) where config["type"] == DeviceType.proxy.rawValue {
            let listen: ProxyEndpoint, connect: ProxyEndpoint
            do {
                listen = try ProxyEndpoint.parse(config["listen"] ?? "")
                connect = try ProxyEndpoint.parse(config["connect"] ?? "")
            } catch {
                throw SysboxError.invalid("device \(name) (proxy): \(error.message)")
            }
            let nat = (try? Values.bool(config["nat"] ?? "false")) == true
            var spec = ProxySpec(device: name, listen: listen, connect: connect, nat: nat)
            if nat {
                let statics = devices.sorted(by: { $0.key < $1.key }).compactMap { $0.value["type"] == "nic" ? $0.value["ipv4.address"] : nil }
                guard let address = statics.first else {
                    throw SysboxError.invalid(
                        "device \(name) (proxy): nat=true needs a static address on the container's NIC; set ipv4.address on its nic device (sysbox config device set CONTAINER eth0 ipv4.address=ADDRESS), or use nat=false"
                    )
                }
                if connect.address != "0.0.0.0" && !statics.contains(connect.address) {
                    throw SysboxError.invalid(
                        "device \(name) (proxy): with nat=true, connect must be the container's static address \(address) or 0.0.0.0 (not \(connect.address))")
                }
                if connect.address == "0.0.0.0" { spec.connect.address = address }
            }
            out.append(spec)
        }
        return out
    }

    /// Writes (or, without proxy devices, removes) a container's spec file, for its monitor.
    static func save(_ specs: [ProxySpec], directory: String) throws {
        let path = specPath(directory)
        guard !specs.isEmpty else {
            unlink(path)
            return
        }
        let data = try JSONEncoder().encode(specs)
        try Host.writeAtomically(String(decoding: data, as: UTF8.self), to: path, mode: 0o600, durable: false)
    }

    static func load(directory: String) -> [ProxySpec] {
        guard let data = FileManager.default.contents(atPath: specPath(directory)) else { return [] }
        return (try? JSONDecoder().decode([ProxySpec].self, from: data)) ?? []
    }

    /// The nftables script of a container's nat=true devices: DNAT in prerouting (from elsewhere) and
    /// output (from the host itself, except to 127.0.0.0/8: a loopback source cannot be routed to the
    /// bridge), each rule commented `CONTAINER/DEVICE`. Applied atomically (`nft -f`), idempotent.
    static func natRules(container: String, _ specs: [ProxySpec]) -> String {
        let table = table(container)
        var rules: [String] = []
        for s in specs where s.nat {
            let to = s.listen.address == "0.0.0.0" ? "fib daddr type local" : "ip daddr \(s.listen.address)"
            rules.append("\(to) \(s.listen.proto) dport \(s.listen.port) dnat to \(s.connect.address):\(s.connect.port) comment \"\(container)/\(s.device)\"")
        }
        var text = "table ip \(table) {}\ndelete table ip \(table)\ntable ip \(table) {\n"
        text += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n"
        for r in rules { text += "    \(r)\n" }
        text += "  }\n  chain output {\n    type nat hook output priority -100; policy accept;\n"
        for r in rules { text += "    ip daddr != 127.0.0.0/8 \(r)\n" }
        return text + "  }\n}\n"
    }

    /// Whether two listens take the same host port (a wildcard address takes it on every address).
    static func clash(_ a: ProxyEndpoint, _ b: ProxyEndpoint) -> Bool {
        a.proto == b.proto && a.port == b.port && (a.address == b.address || a.address == "0.0.0.0" || b.address == "0.0.0.0")
    }

    /// Checks that two devices of one container do not listen on the same port.
    static func validateSet(_ devices: DeviceMap) throws {
        var seen: [(String, ProxyEndpoint)] = []
        for (name, config) in devices.sorted(by: { $0.key < $1.key }) where config["type"] == DeviceType.proxy.rawValue {
            guard let listen = try? ProxyEndpoint.parse(config["listen"] ?? "") else { continue }
            if let other = seen.first(where: { clash($0.1, listen) }) {
                throw SysboxError.invalid("devices \(other.0) and \(name) both listen on \(listen.proto) port \(listen.port); change listen on one")
            }
            seen.append((name, listen))
        }
    }

    /// Sets up a container's proxy devices (in its monitor, before init is cloned): nat=true devices'
    /// nftables table (after checking that no other running container of this state directory forwards
    /// the same port with NAT), and for each nat=false device a listening socket (socket, bind, listen:
    /// EADDRINUSE is the port being taken) handed to a forwarder child, `sysbox __proxy`, whose pid
    /// file is containers/NAME/proxy-DEVICE.pid.
    /// - Throws: `SysboxError` naming the device and the port; what was set up is undone.
    static func start(directory: String, container: String) throws {
        let specs = load(directory: directory)
        guard !specs.isEmpty else { return }
        do {
            try checkOtherContainers(specs, directory: directory, container: container)
            if specs.contains(where: \.nat) {
                try HostNetwork.runNft(natRules(container: container, specs), what: "installing the proxy rules of \(container)")
            }
            for spec in specs where !spec.nat { try launchForwarder(spec, directory: directory) }
        } catch {
            stop(directory: directory, container: container)
            throw error
        }
    }

    /// nat=true devices of other running containers (their spec file, with their table present and
    /// their init alive) that take the same port; a stopped one's table is deleted (left by a killed
    /// monitor).
    static func checkOtherContainers(_ specs: [ProxySpec], directory: String, container: String) throws {
        let parent = URL(fileURLWithPath: directory).deletingLastPathComponent().path
        guard let others = try? FileManager.default.contentsOfDirectory(atPath: parent) else { return }
        var tables: NetfilterTables?
        for other in others.sorted() where other != container {
            let theirs = load(directory: parent + "/" + other).filter(\.nat)
            guard !theirs.isEmpty else { continue }
            for mine in specs {
                guard let hit = theirs.first(where: { clash($0.listen, mine.listen) }) else { continue }
                if tables == nil { tables = try? NetfilterTables.open() }
                guard (try? tables?.tableExists(table(other))) == true else { continue }
                // A table left by a container whose monitor was killed (init died with it) is stale.
                guard PidFile.isAlive(PidFile.read(parent + "/" + other + "/init.pid")) else {
                    try? HostNetwork.runNft("table ip \(table(other)) {}\ndelete table ip \(table(other))\n", what: "removing the stale proxy rules of \(other)")
                    continue
                }
                throw SysboxError(
                    .conflict,
                    "device \(mine.device) (proxy): \(mine.listen.proto) port \(mine.listen.port) is already forwarded to container \(other) (its device \(hit.device)); change listen on one of them"
                )
            }
        }
    }

    /// The `sysbox` front next to this binary (a build directory) or in PREFIX/bin.
    static func front() -> String? {
        guard let manager = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        let dir = URL(fileURLWithPath: manager).deletingLastPathComponent()
        return [
            dir.appendingPathComponent("sysbox").path,
            dir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bin/sysbox").path
        ].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Binds the device's host socket and spawns its forwarder (posix_spawn) with it.
    static func launchForwarder(_ spec: ProxySpec, directory: String) throws {
        let what = "device \(spec.device) (proxy)"
        let fd = sysbox_proxy_listen(spec.listen.proto == "udp" ? 1 : 0, spec.listen.address, Int32(spec.listen.port))
        guard fd >= 0 else {
            let reason =
                -fd == EADDRINUSE
                ? "the port is already in use on the host (another program or container listens on it); choose another port in listen"
                : -fd == EADDRNOTAVAIL ? "\(spec.listen.address) is not an address of this host; use one of its addresses or 0.0.0.0" : Host.errnoText(-fd)
            throw SysboxError(.conflict, "\(what): cannot listen on \(spec.listen.text): \(reason)")
        }
        defer { close(fd) }
        guard let front = front() else { throw SysboxError(.notFound, "\(what): the sysbox front (the `sysbox` binary) is not next to sysbox-manager; reinstall sysbox") }
        _ = fcntl(fd, F_SETFD, 0)
        let args = [
            "sysbox", "__proxy", spec.device, "\(getpid())", "\(fd)", spec.connect.proto, spec.connect.address, "\(spec.connect.port)",
            directory + "/init.pid"
        ]
        let c = CStrings()
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, front, nil, nil, c.array(args), environ)
        guard rc == 0 else { throw SysboxError(.io, "\(what): cannot start its forwarder \(front): \(Host.errnoText(rc))") }
        try Host.writeAtomically("\(pid) \(Host.startTime(of: pid) ?? 0)\n", to: pidPath(directory, device: spec.device), durable: false)
    }

    /// Ends a container's forwarders (SIGKILL, reaped when they are this process's children) and
    /// deletes its nftables table when there is one (one NFT_MSG_GETTABLE to know; `nft` only then).
    /// Missing pieces are fine.
    static func stop(directory: String, container: String) {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("proxy-") && $0.hasSuffix(".pid") }
        for file in files {
            let path = directory + "/" + file
            if let entry = PidFile.read(path), PidFile.isAlive(entry) {
                kill(entry.pid, SIGKILL)
                var status: Int32 = 0
                if waitpid(entry.pid, &status, 0) < 0 {
                    // Not a child of this process (a stale cleanup): wait until it is gone.
                    for _ in 0..<100 where PidFile.isAlive(entry) { usleep(10_000) }
                }
            }
            unlink(path)
        }
        if (try? NetfilterTables.open().tableExists(table(container))) == true {
            try? HostNetwork.runNft("table ip \(table(container)) {}\ndelete table ip \(table(container))\n", what: "removing the proxy rules of \(container)")
        }
    }
}
