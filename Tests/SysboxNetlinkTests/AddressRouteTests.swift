import CSysbox
import Foundation
import Testing
@testable import SysboxNetlink

/// A reply message built with the request encoder (same wire format), as the kernel would send it.
func reply(type: Int32, _ build: (inout NetlinkRequest) -> Void) -> NetlinkMessage {
    var r = NetlinkRequest(type: Int(type), flags: Int32(NLM_F_MULTI))
    build(&r)
    return (try? NetlinkMessage.parse(r.finish(seq: 0, ack: false)))?.first ?? NetlinkMessage(type: 0, flags: 0, seq: 0, payload: [])
}

func addressReply(family: Int32 = AF_INET, index: UInt32, prefix: UInt8, local: [UInt8]?, address: [UInt8]?, label: String?) -> NetlinkMessage {
    reply(type: Int32(RTM_NEWADDR)) { r in
        var m = ifaddrmsg()
        m.ifa_family = UInt8(family)
        m.ifa_prefixlen = prefix
        m.ifa_index = index
        r.append(struct: m)
        if let address { r.attribute(Int(IFA_ADDRESS), address) }
        if let local { r.attribute(Int(IFA_LOCAL), local) }
        if let label { r.attribute(Int(IFA_LABEL), string: label) }
    }
}

func routeReply(table: UInt8, tableAttribute: UInt32?, dst: [UInt8]?, prefix: UInt8, gateway: [UInt8]?, oif: UInt32?) -> NetlinkMessage {
    reply(type: Int32(RTM_NEWROUTE)) { r in
        var m = rtmsg()
        m.rtm_family = UInt8(AF_INET)
        m.rtm_dst_len = prefix
        m.rtm_table = table
        m.rtm_type = UInt8(RTN_UNICAST)
        r.append(struct: m)
        // The kernel's order: RTA_TABLE, RTA_DST, RTA_GATEWAY / RTA_OIF.
        if let tableAttribute { r.attribute(Int(RTA_TABLE.rawValue), uint32: tableAttribute) }
        if let dst { r.attribute(Int(RTA_DST.rawValue), dst) }
        if let gateway { r.attribute(Int(RTA_GATEWAY.rawValue), gateway) }
        if let oif { r.attribute(Int(RTA_OIF.rawValue), uint32: oif) }
    }
}

@Suite struct AddressRouteParsingTests {
    @Test func parsesAddresses() throws {
        let t = RecordingTransport()
        t.replies = [
            .success([
                addressReply(index: 1, prefix: 8, local: [127, 0, 0, 1], address: [127, 0, 0, 1], label: "lo"),
                // Point-to-point: IFA_ADDRESS is the peer, IFA_LOCAL ours.
                addressReply(index: 4, prefix: 32, local: [10, 0, 0, 1], address: [10, 0, 0, 2], label: "tun0"),
                addressReply(index: 5, prefix: 24, local: nil, address: [192, 168, 1, 7], label: nil),
                addressReply(family: AF_INET6, index: 5, prefix: 64, local: nil, address: Array(repeating: 0xfe, count: 16), label: nil),
                addressReply(index: 6, prefix: 24, local: nil, address: nil, label: "empty")
            ])
        ]
        let addresses = try RouteNetlink(transport: t).addresses()
        #expect(
            addresses == [
                InterfaceAddress(index: 1, prefix: 8, address: [127, 0, 0, 1], label: "lo"),
                InterfaceAddress(index: 4, prefix: 32, address: [10, 0, 0, 1], label: "tun0"),
                InterfaceAddress(index: 5, prefix: 24, address: [192, 168, 1, 7], label: nil)
            ])
        #expect(t.sent == [RouteNetlink.addressDumpRequest().finish(seq: 0)])
    }

    @Test func parsesRoutes() throws {
        let t = RecordingTransport()
        t.replies = [
            .success([
                routeReply(
                    table: UInt8(RT_TABLE_MAIN.rawValue), tableAttribute: UInt32(RT_TABLE_MAIN.rawValue), dst: nil, prefix: 0,
                    gateway: [10, 0, 3, 1], oif: 7),
                routeReply(
                    table: UInt8(RT_TABLE_MAIN.rawValue), tableAttribute: UInt32(RT_TABLE_MAIN.rawValue), dst: [10, 0, 3, 0], prefix: 24,
                    gateway: nil, oif: 7),
                // Without RTA_TABLE: rtm_table counts.
                routeReply(table: UInt8(RT_TABLE_LOCAL.rawValue), tableAttribute: nil, dst: [10, 0, 3, 5], prefix: 32, gateway: nil, oif: 7),
                // A table above 255: rtm_table says RT_TABLE_COMPAT, RTA_TABLE has the real one.
                routeReply(
                    table: UInt8(RT_TABLE_COMPAT.rawValue), tableAttribute: 1000, dst: [172, 16, 0, 0], prefix: 12,
                    gateway: [10, 0, 3, 9], oif: nil),
                NetlinkMessage(type: UInt16(RTM_NEWROUTE), flags: 0, seq: 0, payload: [2, 0, 0])  // truncated: skipped
            ])
        ]
        let routes = try RouteNetlink(transport: t).routes()
        #expect(
            routes == [
                Route(destination: [], prefix: 0, gateway: [10, 0, 3, 1], outputIndex: 7, table: 254),
                Route(destination: [10, 0, 3, 0], prefix: 24, gateway: nil, outputIndex: 7, table: 254),
                Route(destination: [10, 0, 3, 5], prefix: 32, gateway: nil, outputIndex: 7, table: 255),
                Route(destination: [172, 16, 0, 0], prefix: 12, gateway: [10, 0, 3, 9], outputIndex: nil, table: 1000)
            ])
        #expect(t.sent == [RouteNetlink.routeDumpRequest().finish(seq: 0)])
    }

    @Test func parsesAliasAndStats() throws {
        var stats = rtnl_link_stats64()
        stats.rx_packets = 3
        stats.tx_packets = 4
        stats.rx_bytes = 0x1_0000_0001  // above 32 bits
        stats.tx_bytes = 700
        stats.rx_errors = 99
        let message = reply(type: Int32(RTM_NEWLINK)) { r in
            r.append(struct: RouteNetlink.ifinfo(index: 9))
            r.attribute(Int(IFLA_IFNAME), string: "sbxbr0")
            // As the kernel lays it out: IFLA_PAD so that the u64s are 8-byte aligned.
            r.attribute(Int(IFLA_PAD), [])
            r.attribute(Int(IFLA_STATS64), withUnsafeBytes(of: stats) { Array($0) })
            r.attribute(Int(IFLA_IFALIAS), string: "uplink of ct1")
        }
        let plain = reply(type: Int32(RTM_NEWLINK)) { r in
            r.append(struct: RouteNetlink.ifinfo(index: 10))
            r.attribute(Int(IFLA_IFNAME), string: "lo")
        }
        let t = RecordingTransport()
        t.replies = [.success([message, plain])]
        let links = try RouteNetlink(transport: t).links()
        #expect(links.count == 2)
        #expect(links.first?.alias == "uplink of ct1")
        #expect(links.first?.stats == LinkStats(rxBytes: 0x1_0000_0001, txBytes: 700, rxPackets: 3, txPackets: 4))
        #expect(links.last?.alias == nil && links.last?.stats == nil)
    }

    func linkReply(index: Int32, name: String) -> NetlinkMessage {
        reply(type: Int32(RTM_NEWLINK)) { r in
            r.append(struct: RouteNetlink.ifinfo(index: index))
            r.attribute(Int(IFLA_IFNAME), string: name)
        }
    }

    @Test func deleteOfAMissingAddressSucceeds() throws {
        let t = RecordingTransport()
        t.replies = [.success([linkReply(index: 3, name: "eth0")]), .failure(NetlinkError(operation: "", errno: EADDRNOTAVAIL))]
        try RouteNetlink(transport: t).deleteAddress("eth0", [10, 0, 0, 2], prefix: 24)
        #expect(t.sent.last == RouteNetlink.deleteAddressRequest(index: 3, [10, 0, 0, 2], prefix: 24).finish(seq: 0))
        t.replies = [.success([linkReply(index: 3, name: "eth0")]), .failure(NetlinkError(operation: "", errno: EPERM))]
        #expect(throws: NetlinkError(operation: "delete address from eth0", errno: EPERM)) {
            try RouteNetlink(transport: t).deleteAddress("eth0", [10, 0, 0, 2], prefix: 24)
        }
    }

    @Test func setAliasLooksUpTheIndex() throws {
        let t = RecordingTransport()
        t.replies = [.success([linkReply(index: 2, name: "br0")]), .success([])]
        try RouteNetlink(transport: t).setAlias("br0", "myalias")
        #expect(t.sent.count == 2 && t.sent.last == RouteNetlink.setAliasRequest(index: 2, "myalias").finish(seq: 0))
    }

    @Test func indexVariantsSendOneMessage() throws {
        let t = RecordingTransport()
        let nl = RouteNetlink(transport: t)
        try nl.setUp(index: 4, true)
        try nl.addAddress(index: 4, [10, 0, 0, 2], prefix: 24)
        try nl.addDefaultRoute(via: [10, 0, 0, 1], index: 4)
        #expect(
            t.sent == [
                RouteNetlink.setUpRequest(index: 4, true).finish(seq: 0),
                RouteNetlink.addAddressRequest(index: 4, [10, 0, 0, 2], prefix: 24).finish(seq: 0),
                RouteNetlink.defaultRouteRequest(via: [10, 0, 0, 1], index: 4).finish(seq: 0)
            ])
    }

    @Test func plainCreateVethIsTheConfiguredOneWithoutOptions() throws {
        let t = RecordingTransport()
        try RouteNetlink(transport: t).createVeth("a0", peer: "a1")
        try RouteNetlink(transport: t).createVeth("a0", peer: "a1", peerNamespacePid: nil, peerMAC: nil, masterIndex: nil, up: false, mtu: nil)
        #expect(t.sent.count == 2 && t.sent[0] == t.sent[1])
    }
}

/// Ends a namespace holder with SIGKILL: the test process runs with SIGTERM blocked and Foundation's
/// Process passes that mask on, so `terminate()` would leave `sleep` to run its 60 s.
func stop(_ process: Process) {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
}

/// A process alone in a network namespace of its own (`unshare -n sleep 60`), to receive a veth peer.
/// Ready once it runs `sleep`: unshare has then left our namespace (checked too, so nothing can ever
/// land in the host's).
func spawnNamespaceHolder() throws -> Process {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    process.arguments = ["-n", "sleep", "60"]
    try process.run()
    let pid = process.processIdentifier
    let ours = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
    let deadline = ContinuousClock.now + .seconds(5)
    while ContinuousClock.now < deadline {
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? ""
        let ns = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
        if comm.hasPrefix("sleep"), let ns, ns != ours { return process }
        usleep(1000)
    }
    stop(process)
    throw NetlinkError(operation: "start a namespace holder", errno: ETIMEDOUT)
}

/// Against the kernel: the host end in a private namespace of a dedicated thread, the peer in the
/// namespace of an `unshare -n sleep` process. Nothing touches the host's namespace.
@Suite struct AttachKernelTests {
    init() throws {
        try #require(getuid() == 0, "the netlink kernel tests create links and must run as root")
    }

    @Test func moveToNamespaceByFD() throws {
        let holder = try spawnNamespaceHolder()
        defer { stop(holder) }
        let pid = holder.processIdentifier
        let fd = open("/proc/\(pid)/ns/net", O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let here = try NetworkNamespace.runInNew { nl -> Bool in
            try nl.createVeth("sbxfd0", peer: "sbxfd1")
            try nl.moveToNamespace("sbxfd1", fd: fd)
            return try nl.link(named: "sbxfd1") == nil && nl.link(named: "sbxfd0") != nil
        }
        #expect(here)
        #expect(try NetworkNamespace.run(pid: pid) { nl in try nl.link(named: "sbxfd1") != nil })
    }

    @Test func aliasVethInAnotherNamespaceAddressesRoutes() throws {
        let holder = try spawnNamespaceHolder()
        defer { stop(holder) }
        let pid = holder.processIdentifier
        let mac: [UInt8] = [0x00, 0x16, 0x3e, 0x0a, 0x0b, 0x0c]
        let result = try NetworkNamespace.runInNew { nl -> [String] in
            var log: [String] = []
            try nl.createBridge("sbxabr0")
            try nl.setAlias("sbxabr0", "bridge of ct1 ✓")
            log.append("alias \(try nl.link(named: "sbxabr0")?.alias ?? "-")")
            try nl.setAlias("sbxabr0", "")
            log.append("cleared \(try nl.link(named: "sbxabr0")?.alias == nil)")
            do {
                try nl.setAlias("sbxabr0", String(repeating: "a", count: 256))
                log.append("long alias accepted")
            } catch let e as NetlinkError {
                log.append("long alias refused \(e.errno == ERANGE ? "ERANGE" : "errno \(e.errno)")")
            }
            guard let bridge = try nl.link(named: "sbxabr0")?.index else { return log + ["no bridge"] }
            try nl.setUp(index: bridge, true)

            try nl.createVeth("sbxav0", peer: "eth0", peerNamespacePid: pid, peerMAC: mac, masterIndex: bridge, up: true, mtu: 1400)
            let host = try nl.link(named: "sbxav0")
            log.append("host end master \(host?.master == bridge) up \(host?.isUp ?? false) mtu \(host?.mtu ?? 0) stats \(host?.stats != nil)")
            log.append("no eth0 here \(try nl.link(named: "eth0") == nil)")
            do {
                try nl.createVeth("sbxav1", peer: "eth0", peerNamespacePid: pid, peerMAC: nil, masterIndex: nil, up: false, mtu: nil)
                log.append("duplicate peer accepted")
            } catch let e as NetlinkError {
                log.append("duplicate peer \(e.errno == EEXIST ? "EEXIST" : "errno \(e.errno)"), host end left \(try nl.link(named: "sbxav1") != nil)")
            }
            for (master, label) in [(Int32(9999), "missing master"), (Int32(1), "lo as master")] {
                do {
                    try nl.createVeth("sbxav2", peer: "eth1", peerNamespacePid: pid, peerMAC: nil, masterIndex: master, up: true, mtu: nil)
                    log.append("\(label) accepted")
                } catch let e as NetlinkError {
                    let left = try nl.link(named: "sbxav2") != nil
                    log.append("\(label) errno \(e.errno == EINVAL ? "EINVAL" : e.errno == EOPNOTSUPP ? "EOPNOTSUPP" : "\(e.errno)"), host end left \(left)")
                }
            }
            do {
                try nl.createVeth("sbxav3", peer: "eth1", peerNamespacePid: Int32.max, peerMAC: nil, masterIndex: nil, up: false, mtu: nil)
                log.append("missing pid accepted")
            } catch let e as NetlinkError {
                log.append("missing pid \(e.errno == ESRCH ? "ESRCH" : "errno \(e.errno)")")
            }

            log += try NetworkNamespace.run(pid: pid) { c -> [String] in
                var log: [String] = []
                guard let eth0 = try c.link(named: "eth0") else { return ["no eth0 in the namespace"] }
                log.append("only lo and eth0 \(try c.links().map(\.name).sorted() == ["eth0", "lo"])")
                log.append("eth0 mac \(eth0.mac == mac) mtu \(eth0.mtu ?? 0) up \(eth0.isUp)")
                try c.setUp(index: 1, true)  // lo is always ifindex 1
                try c.setUp(index: eth0.index, true)
                try c.addAddress(index: eth0.index, [10, 78, 0, 2], prefix: 24)
                try c.addDefaultRoute(via: [10, 78, 0, 1], index: eth0.index)
                let addresses = try c.addresses()
                log.append("lo address \(addresses.contains(InterfaceAddress(index: 1, prefix: 8, address: [127, 0, 0, 1], label: "lo")))")
                log.append("eth0 address \(addresses.contains(InterfaceAddress(index: eth0.index, prefix: 24, address: [10, 78, 0, 2], label: "eth0")))")
                let routes = try c.routes()
                log.append("default \(routes.contains(Route(destination: [], prefix: 0, gateway: [10, 78, 0, 1], outputIndex: eth0.index, table: 254)))")
                log.append("connected \(routes.contains(Route(destination: [10, 78, 0, 0], prefix: 24, gateway: nil, outputIndex: eth0.index, table: 254)))")
                log.append("local \(routes.contains(Route(destination: [10, 78, 0, 2], prefix: 32, gateway: nil, outputIndex: eth0.index, table: 255)))")
                try c.deleteAddress("eth0", [10, 78, 0, 2], prefix: 24)
                try c.deleteAddress("eth0", [10, 78, 0, 2], prefix: 24)  // not there any more: a no-op
                log.append("deleted \(try !c.addresses().contains { $0.index == eth0.index })")
                let after = try c.routes().filter { $0.outputIndex == eth0.index }
                print("routes via eth0 once its only address is gone: \(after)")
                return log
            }
            let stats = try nl.link(named: "sbxav0")?.stats
            print("host end stats: \(stats.map { "\($0)" } ?? "none")")
            log.append("stats still there \(stats != nil)")
            return log
        }
        #expect(
            result == [
                "alias bridge of ct1 ✓", "cleared true", "long alias refused ERANGE",
                "host end master true up true mtu 1400 stats true", "no eth0 here true",
                "duplicate peer EEXIST, host end left false",
                "missing master errno EINVAL, host end left false", "lo as master errno EOPNOTSUPP, host end left false",
                "missing pid ESRCH", "only lo and eth0 true",
                "eth0 mac true mtu 1400 up false",
                "lo address true", "eth0 address true", "default true", "connected true", "local true", "deleted true",
                "stats still there true"
            ])
    }

    /// The attach sequence of a container start: one RTM_NEWLINK for the whole veth pair, then in the
    /// container's namespace lo up, eth0 looked up (its index differs from run to run), eth0 up, its
    /// address and the default route. Timed over 20 runs, each into a fresh namespace; printed, not
    /// asserted.
    @Test func attachTiming() throws {
        let runs = 20
        var holders: [Process] = []
        defer {
            for holder in holders { stop(holder) }
        }
        for _ in 0..<runs { holders.append(try spawnNamespaceHolder()) }
        let pids = holders.map(\.processIdentifier)
        let timings = try NetworkNamespace.runInNew { nl -> [(create: Duration, inside: Duration)] in
            try nl.createBridge("sbxmbr0")
            try nl.addAddress("sbxmbr0", [10, 79, 0, 1], prefix: 24)
            try nl.setUp("sbxmbr0")
            guard let bridge = try nl.link(named: "sbxmbr0")?.index else { throw NetlinkError(operation: "find bridge", errno: ENODEV) }
            let clock = ContinuousClock()
            var out: [(create: Duration, inside: Duration)] = []
            for (i, pid) in pids.enumerated() {
                let address: [UInt8] = [10, 79, 0, UInt8(10 + i)]
                let start = clock.now
                try nl.createVeth(
                    "sbxm\(i)", peer: "eth0", peerNamespacePid: pid, peerMAC: [0x00, 0x16, 0x3e, 0, 0, UInt8(i)],
                    masterIndex: bridge, up: true, mtu: nil)
                let created = clock.now
                try NetworkNamespace.run(pid: pid) { c in
                    try c.setUp(index: 1, true)
                    guard let eth0 = try c.link(named: "eth0")?.index else { throw NetlinkError(operation: "find eth0", errno: ENODEV) }
                    try c.setUp(index: eth0, true)
                    try c.addAddress(index: eth0, address, prefix: 24)
                    try c.addDefaultRoute(via: [10, 79, 0, 1], index: eth0)
                }
                let end = clock.now
                out.append((created - start, end - created))
            }
            return out
        }
        #expect(timings.count == runs)
        func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }
        func ms(_ d: Duration) -> String {
            let (s, atto) = d.components
            return String(format: "%.3f ms", Double(s) * 1000 + Double(atto) / 1e15)
        }
        let totals = timings.map { $0.create + $0.inside }
        print(
            "attach sequence, \(runs) runs: median \(ms(median(totals))) (createVeth \(ms(median(timings.map(\.create)))), "
                + "in the namespace \(ms(median(timings.map(\.inside))))), min \(ms(totals.min() ?? .zero)), max \(ms(totals.max() ?? .zero))")
    }
}
