import CSysbox
import Foundation
import Testing
@testable import SysboxNetlink

/// Hex of `ip`'s requests captured with `strace -x -e sendmsg ip …` (iproute2 6.1, Debian 12; for the
/// later ones `strace -x -e trace=sendmsg,sendto -e write=3,4 ip …` in `unshare -n`, whose hex dump shows
/// every byte); only the sequence number differs, and it is zeroed on both sides.
func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var chars = Array(s.replacingOccurrences(of: "\\x", with: ""))
    while chars.count >= 2 {
        out.append(UInt8(String(chars[0...1]), radix: 16) ?? 0)
        chars.removeFirst(2)
    }
    return out
}

/// A whole message as `ip` sent it: header (with seq 0) plus payload.
func message(length: UInt32, type: UInt16, flags: UInt16, payload: String) -> [UInt8] {
    var out: [UInt8] = []
    withUnsafeBytes(of: length) { out += $0 }
    withUnsafeBytes(of: type) { out += $0 }
    withUnsafeBytes(of: flags) { out += $0 }
    out += [0, 0, 0, 0, 0, 0, 0, 0]
    return out + hex(payload)
}

@Suite struct GoldenBytesTests {
    @Test func kernelStructSizes() {
        #expect(MemoryLayout<nlmsghdr>.size == 16)
        #expect(MemoryLayout<ifinfomsg>.size == 16)
        #expect(MemoryLayout<ifaddrmsg>.size == 8)
        #expect(MemoryLayout<rtmsg>.size == 12)
        #expect(MemoryLayout<rtattr>.size == 4)
    }

    @Test func createBridge() {
        // ip link add sbxgbr0 type bridge
        let golden = message(
            length: 60, type: 0x10, flags: 0x605,
            payload:
                "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0c\\x00\\x03\\x00\\x73\\x62\\x78\\x67\\x62\\x72\\x30\\x00\\x10\\x00\\x12\\x00\\x0a\\x00\\x01\\x00\\x62\\x72\\x69\\x64\\x67\\x65\\x00\\x00"
        )
        #expect(RouteNetlink.createBridgeRequest("sbxgbr0").finish(seq: 0) == golden)
    }

    @Test func createVeth() {
        // ip link add sbxv0 type veth peer name sbxv1
        let golden = message(
            length: 92, type: 0x10, flags: 0x605,
            payload:
                "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0a\\x00\\x03\\x00\\x73\\x62\\x78\\x76\\x30\\x00\\x00\\x00\\x30\\x00\\x12\\x00\\x08\\x00\\x01\\x00\\x76\\x65\\x74\\x68\\x24\\x00\\x02\\x00\\x20\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0a\\x00\\x03\\x00\\x73\\x62\\x78\\x76\\x31\\x00\\x00\\x00"
        )
        #expect(RouteNetlink.createVethRequest("sbxv0", peer: "sbxv1").finish(seq: 0) == golden)
    }

    /// `strace -e write=3 ip link set dev sbxv0 …` (sbxv0 is ifindex 4, the bridge sbxbr0 ifindex 2).
    @Test func linkChanges() {
        let header = "\\x00\\x00\\x00\\x00\\x04\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
        // master sbxbr0
        #expect(
            RouteNetlink.setMasterRequest(index: 4, master: 2).finish(seq: 0)
                == message(length: 40, type: 0x10, flags: 0x5, payload: header + "\\x08\\x00\\x0a\\x00\\x02\\x00\\x00\\x00"))
        // address 00:16:3e:01:02:03
        #expect(
            RouteNetlink.setMACRequest(index: 4, [0x00, 0x16, 0x3e, 0x01, 0x02, 0x03]).finish(seq: 0)
                == message(length: 44, type: 0x10, flags: 0x5, payload: header + "\\x0a\\x00\\x01\\x00\\x00\\x16\\x3e\\x01\\x02\\x03\\x00\\x00"))
        // mtu 1400
        #expect(
            RouteNetlink.setMTURequest(index: 4, 1400).finish(seq: 0)
                == message(length: 40, type: 0x10, flags: 0x5, payload: header + "\\x08\\x00\\x04\\x00\\x78\\x05\\x00\\x00"))
        // name sbxv9
        #expect(
            RouteNetlink.renameRequest(index: 4, to: "sbxv9").finish(seq: 0)
                == message(length: 44, type: 0x10, flags: 0x5, payload: header + "\\x0a\\x00\\x03\\x00\\x73\\x62\\x78\\x76\\x39\\x00\\x00\\x00"))
        // ip link del sbxv9 sends ifi_index 4 and no attribute; sysbox sends the name (no lookup first):
        // the same RTM_DELLINK, with IFLA_IFNAME "sbxv9" instead of the index.
        #expect(
            RouteNetlink.deleteLinkRequest("sbxv9").finish(seq: 0)
                == message(
                    length: 44, type: 0x11, flags: 0x5,
                    payload: "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0a\\x00\\x03\\x00\\x73\\x62\\x78\\x76\\x39\\x00\\x00\\x00"))
    }

    @Test func moveToNamespaceByPid() {
        // ip link set dev sbxv0 netns 1234 (ifindex 3)
        let golden = message(
            length: 40, type: 0x10, flags: 0x5,
            payload:
                "\\x00\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x13\\x00\\xd2\\x04\\x00\\x00")
        #expect(RouteNetlink.moveToNamespaceRequest(index: 3, pid: 1234).finish(seq: 0) == golden)
    }

    /// `ip link show [dev sbxv0]` asks with ifi_family AF_PACKET (0x11) and IFLA_EXT_MASK=RTEXT_FILTER_VF;
    /// sysbox asks AF_UNSPEC without the mask (it reads no VF data): the same request otherwise.
    @Test func linkQueries() {
        #expect(
            RouteNetlink.getLinkRequest("sbxv0").finish(seq: 0)
                == message(
                    length: 44, type: 0x12, flags: 0x5,
                    payload:
                        "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0a\\x00\\x03\\x00\\x73\\x62\\x78\\x76\\x30\\x00\\x00\\x00"))
        // NLM_F_REQUEST|NLM_F_ACK|NLM_F_DUMP (0x305): the socket asks an ACK of every request.
        #expect(
            RouteNetlink.linkDumpRequest().finish(seq: 0)
                == message(
                    length: 32, type: 0x12, flags: 0x305,
                    payload:
                        "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"))
    }

    @Test func moveToNamespaceByFD() {
        // ip link set dev sbxv0 netns /tmp/nsfile (ifindex 3, the file opened as fd 4)
        let golden = message(
            length: 40, type: 0x10, flags: 0x5,
            payload:
                "\\x00\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x1c\\x00\\x04\\x00\\x00\\x00")
        #expect(RouteNetlink.moveToNamespaceRequest(index: 3, fd: 4).finish(seq: 0) == golden)
    }

    @Test func setUp() {
        // ip link set dev sbxv0 up (ifindex 3)
        let golden = message(length: 32, type: 0x10, flags: 0x5, payload: "\\x00\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00")
        #expect(RouteNetlink.setUpRequest(index: 3, true).finish(seq: 0) == golden)
    }

    @Test func addAddress() {
        // ip addr add 10.99.0.1/24 dev sbxv0 (ifindex 3)
        let golden = message(
            length: 40, type: 0x14, flags: 0x605,
            payload:
                "\\x02\\x18\\x00\\x00\\x03\\x00\\x00\\x00\\x08\\x00\\x02\\x00\\x0a\\x63\\x00\\x01\\x08\\x00\\x01\\x00\\x0a\\x63\\x00\\x01")
        #expect(RouteNetlink.addAddressRequest(index: 3, [10, 99, 0, 1], prefix: 24).finish(seq: 0) == golden)
    }

    @Test func defaultRoute() {
        // ip route add default via 10.99.0.254
        let golden = message(
            length: 36, type: 0x18, flags: 0x605,
            payload:
                "\\x02\\x00\\x00\\x00\\xfe\\x03\\x00\\x01\\x00\\x00\\x00\\x00\\x08\\x00\\x05\\x00\\x0a\\x63\\x00\\xfe")
        #expect(RouteNetlink.defaultRouteRequest(via: [10, 99, 0, 254]).finish(seq: 0) == golden)
    }

    @Test func createVethConfigured() {
        // ip link add v0 mtu 1400 master br0 up type veth peer name eth0 mtu 1400 address 00:16:3e:01:02:03
        //   netns 21348 (br0 ifindex 2). iproute2 puts each end's options in argument order and its
        // IFLA_IFNAME last; the builder follows that order, so the whole message matches.
        let golden = message(
            length: 132, type: 0x10, flags: 0x605,
            payload:
                "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x08\\x00\\x04\\x00\\x78\\x05\\x00\\x00\\x08\\x00\\x0a\\x00\\x02\\x00\\x00\\x00\\x07\\x00\\x03\\x00\\x76\\x30\\x00\\x00\\x4c\\x00\\x12\\x00\\x08\\x00\\x01\\x00\\x76\\x65\\x74\\x68\\x40\\x00\\x02\\x00\\x3c\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x08\\x00\\x04\\x00\\x78\\x05\\x00\\x00\\x0a\\x00\\x01\\x00\\x00\\x16\\x3e\\x01\\x02\\x03\\x00\\x00\\x08\\x00\\x13\\x00\\x64\\x53\\x00\\x00\\x09\\x00\\x03\\x00\\x65\\x74\\x68\\x30\\x00\\x00\\x00\\x00"
        )
        let request = RouteNetlink.createVethRequest(
            "v0", peer: "eth0", peerNamespacePid: 21348, peerMAC: [0x00, 0x16, 0x3e, 0x01, 0x02, 0x03],
            masterIndex: 2, up: true, mtu: 1400)
        #expect(request.finish(seq: 0) == golden)
    }

    @Test func setAlias() {
        // ip link set dev br0 alias myalias (br0 ifindex 2): nla_len 11 counts no NUL; the pad byte is 0.
        let golden = message(
            length: 44, type: 0x10, flags: 0x5,
            payload:
                "\\x00\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x0b\\x00\\x14\\x00\\x6d\\x79\\x61\\x6c\\x69\\x61\\x73\\x00")
        #expect(RouteNetlink.setAliasRequest(index: 2, "myalias").finish(seq: 0) == golden)
    }

    @Test func clearAlias() {
        // ip link set dev br0 alias "": an IFLA_IFALIAS without payload (not even a NUL).
        let golden = message(
            length: 36, type: 0x10, flags: 0x5,
            payload:
                "\\x00\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x04\\x00\\x14\\x00")
        #expect(RouteNetlink.setAliasRequest(index: 2, "").finish(seq: 0) == golden)
    }

    @Test func deleteAddress() {
        // ip addr del 10.99.0.1/24 dev br0 (ifindex 2)
        let golden = message(
            length: 40, type: 0x15, flags: 0x5,
            payload:
                "\\x02\\x18\\x00\\x00\\x02\\x00\\x00\\x00\\x08\\x00\\x02\\x00\\x0a\\x63\\x00\\x01\\x08\\x00\\x01\\x00\\x0a\\x63\\x00\\x01")
        #expect(RouteNetlink.deleteAddressRequest(index: 2, [10, 99, 0, 1], prefix: 24).finish(seq: 0) == golden)
    }

    @Test func defaultRouteWithDevice() {
        // ip route add default via 10.99.0.254 dev br0 (ifindex 2): RTA_GATEWAY, then RTA_OIF.
        let golden = message(
            length: 44, type: 0x18, flags: 0x605,
            payload:
                "\\x02\\x00\\x00\\x00\\xfe\\x03\\x00\\x01\\x00\\x00\\x00\\x00\\x08\\x00\\x05\\x00\\x0a\\x63\\x00\\xfe\\x08\\x00\\x04\\x00\\x02\\x00\\x00\\x00")
        #expect(RouteNetlink.defaultRouteRequest(via: [10, 99, 0, 254], index: 2).finish(seq: 0) == golden)
    }

    // The dumps: iproute2 sends them without NLM_F_ACK (flags 0x301, NLM_F_DUMP), in a larger zeroed
    // buffer (152 and 156 bytes) of which nlmsg_len (24, 28) is the message. Our socket adds NLM_F_ACK to
    // every request; for a dump the kernel sends no ACK, only NLMSG_DONE, so the bytes are compared
    // without it.
    @Test func addressDump() {
        // ip -4 addr show (its RTM_GETADDR; the RTM_GETLINK dump it sends first is not ours)
        let golden = message(length: 24, type: 0x16, flags: 0x301, payload: "\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00")
        #expect(RouteNetlink.addressDumpRequest().finish(seq: 0, ack: false) == golden)
    }

    @Test func routeDump() {
        // ip -4 route show table all: rtm_table 0 and no RTA_TABLE, so the kernel dumps every table.
        let golden = message(
            length: 28, type: 0x1a, flags: 0x301,
            payload:
                "\\x02\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00")
        #expect(RouteNetlink.routeDumpRequest().finish(seq: 0, ack: false) == golden)
    }

    @Test func sequenceAndAckAreSet() {
        let bytes = RouteNetlink.setUpRequest(index: 1, false).finish(seq: 0x01020304, ack: false)
        #expect(Array(bytes[8..<12]) == [4, 3, 2, 1])
        #expect(bytes[6] == 1)  // NLM_F_REQUEST only
    }
}

/// A transport that records requests and replays canned replies (as containerization's mock does).
final class RecordingTransport: NetlinkTransport {
    var sent: [[UInt8]] = []
    var replies: [Result<[NetlinkMessage], NetlinkError>] = []

    func execute(_ request: NetlinkRequest, operation: String, dump: Bool) throws -> [NetlinkMessage] {
        sent.append(request.finish(seq: 0))
        guard !replies.isEmpty else { return [] }
        switch replies.removeFirst() {
        case let .success(m): return m
        case let .failure(e): throw NetlinkError(operation: operation, errno: e.errno)
        }
    }
}

@Suite struct ParsingTests {
    func linkMessage(index: Int32, name: String, master: Int32? = nil) -> NetlinkMessage {
        var r = NetlinkRequest(type: Int(RTM_NEWLINK), flags: 0)
        r.append(struct: RouteNetlink.ifinfo(index: index, flags: UInt32(IFF_UP)))
        r.attribute(Int(IFLA_IFNAME), string: name)
        if let master { r.attribute(Int(IFLA_MASTER), uint32: UInt32(master)) }
        r.nested(Int(IFLA_LINKINFO)) { $0.attribute(Int(IFLA_INFO_KIND), string: "veth") }
        let bytes = r.finish(seq: 7, ack: false)
        return (try? NetlinkMessage.parse(bytes))?.first ?? NetlinkMessage(type: 0, flags: 0, seq: 0, payload: [])
    }

    @Test func parsesLinks() throws {
        let t = RecordingTransport()
        t.replies = [.success([linkMessage(index: 5, name: "veth0", master: 2), linkMessage(index: 6, name: "lo")])]
        let links = try RouteNetlink(transport: t).links()
        #expect(links.map(\.name) == ["veth0", "lo"])
        #expect(links[0].index == 5 && links[0].master == 2 && links[0].kind == "veth" && links[0].isUp)
        #expect(t.sent.first?[4] == UInt8(RTM_GETLINK))
    }

    @Test func deleteOfAMissingLinkSucceeds() throws {
        let t = RecordingTransport()
        t.replies = [.failure(NetlinkError(operation: "", errno: ENODEV))]
        try RouteNetlink(transport: t).deleteLink("gone0")
        t.replies = [.failure(NetlinkError(operation: "", errno: EPERM))]
        #expect(throws: NetlinkError(operation: "delete link gone1", errno: EPERM)) { try RouteNetlink(transport: t).deleteLink("gone1") }
    }

    @Test func truncatedRepliesAreRejected() {
        #expect(throws: NetlinkError.self) { try NetlinkMessage.parse([40, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) }
        #expect(NetlinkAttribute.parse([8, 0, 3, 0, 0x61]) == [])
    }
}

/// Against the kernel, in a private network namespace of a dedicated thread (nothing on the host).
@Suite struct KernelTests {
    init() throws {
        try #require(getuid() == 0, "the netlink kernel tests create links and must run as root")
    }

    @Test func bridgeVethAddressRoute() throws {
        let result = try NetworkNamespace.runInNew { nl -> [String] in
            var log: [String] = []
            try nl.setUp("lo")
            try nl.createBridge("sbxtbr0")
            try nl.createVeth("sbxtv0", peer: "sbxtv1")
            try nl.setMaster("sbxtv0", master: "sbxtbr0")
            try nl.setMTU("sbxtv1", 1400)
            try nl.setMAC("sbxtv1", [0x00, 0x16, 0x3e, 0x01, 0x02, 0x03])
            try nl.rename("sbxtv1", to: "eth0")
            for name in ["sbxtbr0", "sbxtv0", "eth0"] { try nl.setUp(name) }
            try nl.addAddress("sbxtbr0", [10, 77, 0, 1], prefix: 24)
            try nl.addAddress("eth0", [10, 77, 0, 2], prefix: 24)
            try nl.addDefaultRoute(via: [10, 77, 0, 1])
            do {
                try nl.createBridge("sbxtbr0")
                log.append("duplicate bridge accepted")
            } catch let e as NetlinkError {
                log.append("duplicate: \(e.errno == EEXIST)")
            }
            let links = try nl.links()
            let bridge = links.first { $0.name == "sbxtbr0" }
            let v0 = links.first { $0.name == "sbxtv0" }
            let eth0 = links.first { $0.name == "eth0" }
            log.append("bridge kind \(bridge?.kind ?? "-") up \(bridge?.isUp ?? false)")
            log.append("v0 master \(v0?.master == bridge?.index)")
            log.append("eth0 mtu \(eth0?.mtu ?? 0) mac \(eth0?.mac ?? []) up \(eth0?.isUp ?? false)")
            try nl.deleteLink("sbxtv0")
            try nl.deleteLink("sbxtv0")  // already gone: fine
            log.append("eth0 gone with its peer \(try nl.link(named: "eth0") == nil)")
            return log
        }
        #expect(
            result == [
                "duplicate: true", "bridge kind bridge up true", "v0 master true",
                "eth0 mtu 1400 mac [0, 22, 62, 1, 2, 3] up true", "eth0 gone with its peer true"
            ])
        // Nothing reached the host's namespace.
        let host = try NetworkNamespace.run(pid: getpid()) { nl in try nl.links().map(\.name) }
        #expect(!host.contains("sbxtbr0") && !host.contains("sbxtv0"))
    }
}

@Suite struct NetfilterTests {
    /// `nft list table ip sbxg` starts with this NFT_MSG_GETTABLE (its padding bytes are garbage,
    /// zeroed here); NFNL_SUBSYS_NFTABLES << 8 | NFT_MSG_GETTABLE = 0x0a01.
    @Test func getTable() {
        let golden = message(length: 32, type: 0x0a01, flags: 0x5, payload: "\\x02\\x00\\x00\\x00\\x09\\x00\\x01\\x00\\x73\\x62\\x78\\x67\\x00\\x00\\x00\\x00")
        #expect(NetfilterTables.getTableRequest(family: 2, name: "sbxg").finish(seq: 0) == golden)
    }

    @Test func missingTableIsFalse() throws {
        let t = RecordingTransport()
        t.replies = [.failure(NetlinkError(operation: "", errno: ENOENT)), .success([NetlinkMessage(type: 0x0a00, flags: 0, seq: 0, payload: [2, 0, 0, 0])])]
        #expect(try NetfilterTables(transport: t).tableExists("sysbox-x") == false)
        #expect(try NetfilterTables(transport: t).tableExists("sysbox-x") == true)
        t.replies = [.failure(NetlinkError(operation: "", errno: EPERM))]
        #expect(throws: NetlinkError.self) { try NetfilterTables(transport: t).tableExists("sysbox-x") }
    }
}
