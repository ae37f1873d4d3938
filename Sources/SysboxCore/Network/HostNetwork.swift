import CSysbox
import Foundation
import SysboxNetlink

#if canImport(Glibc)
import Glibc
#endif

/// The host side of a managed network: its bridge (through rtnetlink), its address, its nftables table
/// and its dnsmasq (run by a network monitor). Bridge names are host-wide, so a bridge carries its
/// owner in its alias (`IFLA_IFALIAS` = "sysbox STATE-DIRECTORY"): sysbox never adopts, changes or
/// deletes a link it did not create for this state directory.
enum HostNetwork {
    /// Host-wide state of managed networks: one directory per bridge (tmpfs: gone after a reboot,
    /// rebuilt from the database by the next start).
    static let runDirectory = "/run/sysbox/net"

    static func directory(_ name: String) -> String { runDirectory + "/" + name }

    /// Whether the network's run directory is this state directory's (its `owner` file), or absent.
    static func ownsRunDirectory(_ name: String, stateDirectory: String) -> Bool {
        guard let owner = try? String(contentsOfFile: directory(name) + "/owner", encoding: .utf8) else {
            return !FileManager.default.fileExists(atPath: directory(name) + "/owner")
        }
        return owner == stateDirectory + "\n"
    }

    /// The alias that marks a bridge as this state directory's.
    static func ownerAlias(_ stateDirectory: String) -> String {
        let text = "sysbox " + stateDirectory
        return text.utf8.count < 250 ? text : "sysbox #" + ContainerCgroup.hash(stateDirectory)
    }

    /// Runs `body` holding the host-wide network lock (flock on /run/sysbox/network.lock): subnet
    /// choice and bridge creation by concurrent sysbox processes, even of other state directories,
    /// never interleave.
    static func withHostLock<T>(timeout: Double = 120, _ body: () throws -> T) throws -> T {
        try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        // dnsmasq runs as nobody and rereads its host files here: /run/sysbox must be traversable.
        chmod("/run/sysbox", 0o711)
        let path = "/run/sysbox/network.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SysboxError(.io, "cannot open \(path): \(Host.errnoText(errno))") }
        defer { close(fd) }
        // Waits up to 2 minutes (a start holds it while dnsmasq comes up), then names the holder.
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else { throw SysboxError(.io, "cannot lock \(path): \(Host.errnoText(errno))") }
            guard DispatchTime.now().uptimeNanoseconds < deadline else {
                let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
                throw SysboxError(.conflict, "another sysbox command (pid \(holder)) has held the host's network lock \(path) for \(Int(timeout)) s; wait for it or end it")
            }
            usleep(10_000)
        }
        ftruncate(fd, 0)
        _ = "\(getpid())\n".withCString { pwrite(fd, $0, strlen($0), 0) }
        return try body()
    }

    static func netlink() throws -> RouteNetlink {
        do {
            return RouteNetlink(transport: try NetlinkSocket())
        } catch let e as NetlinkError {
            throw SysboxError(.io, "cannot talk to the kernel's rtnetlink: \(e)", cause: e)
        }
    }

    /// Runs netlink work, turning its errors into `SysboxError`s that say what failed.
    static func kernel<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as NetlinkError {
            throw SysboxError(.io, "\(what): \(e.operation) failed: \(Host.errnoText(e.errno))", cause: e)
        }
    }

    /// Names of the bridges this state directory owns (by alias).
    static func ownedBridges(stateDirectory: String) throws -> [String] {
        let alias = ownerAlias(stateDirectory)
        return try kernel("listing links") { try netlink().links().filter { $0.alias == alias && $0.kind == "bridge" }.map(\.name) }
    }

    /// A stable MAC for a network's bridge (00:16:3e + a hash of the state directory and the name):
    /// without one a bridge takes the lowest MAC of its ports, and changes it when that port goes,
    /// which leaves every other container with a stale ARP entry for its gateway.
    static func bridgeMAC(_ name: String, stateDirectory: String) -> [UInt8] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in (stateDirectory + "\0" + name).utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return [0x00, 0x16, 0x3e, UInt8(truncatingIfNeeded: h >> 16), UInt8(truncatingIfNeeded: h >> 8), UInt8(truncatingIfNeeded: h)]
    }

    /// The host's IPv4 networks (routes of the main table and addresses), except those on `bridge`.
    static func hostSubnets(excludingBridge bridge: String) throws -> [(subnet: IPv4Subnet, what: String)] {
        try kernel("reading the host's routes") {
            let nl = try netlink()
            let links = try nl.links()
            let names = Dictionary(links.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
            let bridgeIndex = links.first { $0.name == bridge }?.index
            var out: [(IPv4Subnet, String)] = []
            // Every table but local (255: the host's own addresses, listed below): policy-routed VPNs
            // live in tables of their own; blackhole and multipath routes have no output interface.
            for r in try nl.routes()
            where r.table != 255 && r.prefix > 0 && r.destination.count == 4
                && (bridgeIndex == nil || r.outputIndex != bridgeIndex)
            {
                let dest = IPv4Address(r.destination.reduce(0) { $0 << 8 | UInt32($1) })
                out.append((IPv4Subnet(dest, prefix: Int(r.prefix)), "route via \(r.outputIndex.flatMap { names[$0] } ?? "?")"))
            }
            for a in try nl.addresses() where a.index != bridgeIndex && a.address.count == 4 {
                let addr = IPv4Address(a.address.reduce(0) { $0 << 8 | UInt32($1) })
                out.append((IPv4Subnet(addr, prefix: Int(a.prefix)), "address \(addr)/\(a.prefix) of \(names[a.index] ?? "?")"))
            }
            return out
        }
    }

    /// Refuses a name whose link exists on the host and is not this state directory's bridge.
    static func checkNameFree(_ name: String, stateDirectory: String) throws {
        let link = try kernel("looking up \(name)") { try netlink().link(named: name) }
        if let link, link.alias != ownerAlias(stateDirectory) {
            throw SysboxError(.alreadyExists, "a network interface named \(name) already exists on this host (\(ownerDescription(link))); pick another network name")
        }
    }

    static func ownerDescription(_ link: Link) -> String {
        guard let alias = link.alias, alias.hasPrefix("sysbox ") else { return "\(link.kind.map { "a \($0)" } ?? "an interface") not made by sysbox" }
        return "the bridge of the sysbox state directory \(alias.dropFirst("sysbox ".count))"
    }

    /// Brings a network up (idempotent, cheap when it is already up): bridge (created, owned, up),
    /// exactly its address, dnsmasq's host files, NAT rules, and the network monitor running dnsmasq.
    /// `force` re-applies the rules and restarts dnsmasq with the current settings.
    static func ensureUp(
        _ s: NetworkSettings, stateDirectory: String, hosts: [DNSMasq.Entry], force: Bool,
        launchMonitor: ([String]) throws -> Void
    ) throws {
        let what = "bringing up network \(s.name)"
        var created = false
        try kernel(what) {
            let nl = try netlink()
            var link = try nl.link(named: s.name)
            if let existing = link {
                guard existing.alias == ownerAlias(stateDirectory), existing.kind == "bridge" else {
                    throw SysboxError(
                        .conflict,
                        "cannot bring up network \(s.name): a network interface with that name exists on this host (\(ownerDescription(existing))); delete that interface, or delete this network and create one with another name"
                    )
                }
            } else {
                let host = try hostSubnets(excludingBridge: s.name)
                if let used = host.first(where: { $0.subnet.overlaps(s.subnet) }) {
                    throw SysboxError(
                        .conflict,
                        "cannot bring up network \(s.name): its subnet \(s.subnet) now overlaps \(used.subnet) on the host (\(used.what)); give it another one: sysbox network set \(s.name) ipv4.address=auto"
                    )
                }
                // Made under a temporary name, given its owner and MAC, then renamed: a bridge with the
                // network's name always carries its owner, even if sysbox is killed half-way.
                let temporary = "sbxnew" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
                try nl.createBridge(temporary)
                do {
                    try nl.setAlias(temporary, ownerAlias(stateDirectory))
                    try nl.setMAC(temporary, bridgeMAC(s.name, stateDirectory: stateDirectory))
                    try nl.rename(temporary, to: s.name)
                } catch {
                    try? nl.deleteLink(temporary)
                    throw error
                }
                created = true
                link = try nl.link(named: s.name)
            }
            guard let bridge = link else { throw SysboxError(.io, "\(what): the bridge vanished while it was set up") }
            // A bridge made before MACs were fixed gets its own now.
            let mac = bridgeMAC(s.name, stateDirectory: stateDirectory)
            if bridge.mac != mac { try nl.setMAC(s.name, mac) }
            let addresses = try nl.addresses().filter { $0.index == bridge.index }
            var present = false
            for a in addresses {
                if a.address == s.gateway.octets && Int(a.prefix) == s.subnet.prefix { present = true; continue }
                try nl.deleteAddress(s.name, a.address, prefix: a.prefix)
            }
            if !present { try nl.addAddress(s.name, s.gateway.octets, prefix: UInt8(s.subnet.prefix)) }
            if !bridge.isUp { try nl.setUp(s.name) }
        }
        let dir = directory(s.name)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        guard ownsRunDirectory(s.name, stateDirectory: stateDirectory) else {
            throw SysboxError(.conflict, "cannot bring up network \(s.name): \(dir) belongs to another sysbox state directory")
        }
        try Host.writeAtomically(stateDirectory + "\n", to: dir + "/owner", mode: 0o644)
        try DNSMasq.writeHosts(network: s.name, domain: s.domain, hosts)
        try applyRules(s, force: force)
        let args = DNSMasq.arguments(s)
        if DNSMasq.monitorAlive(s.name) {
            // A new bridge needs a new dnsmasq (its sockets were bound to the old one).
            if force || created || DNSMasq.runningArguments(s.name) != args {
                try DNSMasq.saveArguments(args, network: s.name)
                DNSMasq.signalMonitor(s.name, SIGHUP)
            }
        } else {
            try DNSMasq.saveArguments(args, network: s.name)
            try launchMonitor(args)
        }
    }

    /// The nftables ruleset of a network's own table `ip sysbox-NAME`: masquerade of the subnet to
    /// elsewhere, forwarding to and from the bridge, DNS and DHCP from the bridge. Applied atomically
    /// with `nft -f` (add, delete, define: idempotent, other tables untouched).
    static func rules(_ s: NetworkSettings) -> String {
        let table = "sysbox-\(s.name)"
        var text = "table ip \(table) {}\ndelete table ip \(table)\ntable ip \(table) {\n"
        text += "  chain input {\n    type filter hook input priority filter; policy accept;\n"
        text += "    iifname \"\(s.name)\" udp dport { 53, 67 } accept\n    iifname \"\(s.name)\" tcp dport 53 accept\n  }\n"
        text += "  chain forward {\n    type filter hook forward priority filter; policy accept;\n"
        text += "    iifname \"\(s.name)\" accept\n    oifname \"\(s.name)\" accept\n  }\n"
        if s.nat {
            text += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
            text += "    ip saddr \(s.subnet) ip daddr != \(s.subnet) masquerade\n  }\n"
        }
        return text + "}\n"
    }

    /// Applies the rules when they differ from what was last applied (recorded in the run directory,
    /// which a reboot empties together with the kernel's rules), or always with `force`.
    static func applyRules(_ s: NetworkSettings, force: Bool) throws {
        let marker = directory(s.name) + "/nft.rules"
        let wanted = rules(s)
        // The marker says what was applied; the kernel (one NFT_MSG_GETTABLE, no nft process) says
        // whether it is still there after an `nft flush ruleset`.
        if !force, (try? String(contentsOfFile: marker, encoding: .utf8)) == wanted,
            (try? NetfilterTables.open().tableExists("sysbox-\(s.name)")) == true,
            !s.nat || (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8))?.hasPrefix("1") == true
        {
            return
        }
        try runNft(wanted, what: "installing the firewall rules of network \(s.name)")
        try Host.writeAtomically(wanted, to: marker, mode: 0o644)
        if s.nat {
            let path = "/proc/sys/net/ipv4/ip_forward"
            if (try? String(contentsOfFile: path, encoding: .utf8))?.hasPrefix("1") != true {
                let fd = open(path, O_WRONLY | O_CLOEXEC)
                guard fd >= 0, write(fd, "1\n", 2) == 2 else {
                    let e = errno
                    if fd >= 0 { close(fd) }
                    throw SysboxError(.io, "cannot enable IPv4 forwarding (\(path)): \(Host.errnoText(e))")
                }
                close(fd)
            }
        }
    }

    static func runNft(_ script: String, what: String) throws {
        guard let nft = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SysboxError(.unsupported, "\(what): nft is not installed; install the Debian package nftables")
        }
        let input = Pipe()
        input.fileHandleForWriting.write(Data(script.utf8))
        try input.fileHandleForWriting.close()
        // nft's last line is a ^^^ marker under the offending text: the message is the "Error:" line.
        try Host.run([nft, "-f", "-"], what: what, stdin: input.fileHandleForReading, errorLine: { $0.contains("Error:") })
    }

    /// Removes what `ensureUp` made: dnsmasq and its monitor, the nftables table, the bridge (only
    /// when it is this state directory's), the run directory. Missing pieces are fine.
    static func tearDown(_ name: String, stateDirectory: String) throws {
        // Another state directory's network of the same name (its bridge, rules, dnsmasq) is left alone.
        let link = try kernel("looking up \(name)") { try netlink().link(named: name) }
        if let link, link.alias != ownerAlias(stateDirectory) { return }
        guard ownsRunDirectory(name, stateDirectory: stateDirectory) else {
            if link != nil { try kernel("deleting network \(name)") { try netlink().deleteLink(name) } }
            return
        }
        DNSMasq.stopMonitor(name)
        let table = "sysbox-\(name)"
        try? runNft("table ip \(table) {}\ndelete table ip \(table)\n", what: "removing the firewall rules of network \(name)")
        try kernel("deleting network \(name)") {
            let nl = try netlink()
            if let link = try nl.link(named: name), link.alias == ownerAlias(stateDirectory) {
                try nl.deleteLink(name)
            }
        }
        try? Host.removeTree(directory(name))
    }
}
