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

@Suite struct AddressRouteParsingTests {
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

    @Test func setAliasLooksUpTheIndex() throws {
        let t = RecordingTransport()
        t.replies = [.success([linkReply(index: 2, name: "br0")]), .success([])]
        try RouteNetlink(transport: t).setAlias("br0", "myalias")
        #expect(t.sent.count == 2 && t.sent.last == RouteNetlink.setAliasRequest(index: 2, "myalias").finish(seq: 0))
    }
}
