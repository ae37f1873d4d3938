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
        t.replies = [.success([
            addressReply(index: 1, prefix: 8, local: [127, 0, 0, 1], address: [127, 0, 0, 1], label: "lo"),
            // Point-to-point: IFA_ADDRESS is the peer, IFA_LOCAL ours.
            addressReply(index: 4, prefix: 32, local: [10, 0, 0, 1], address: [10, 0, 0, 2], label: "tun0"),
            addressReply(index: 5, prefix: 24, local: nil, address: [192, 168, 1, 7], label: nil),
            addressReply(family: AF_INET6, index: 5, prefix: 64, local: nil, address: Array(repeating: 0xfe, count: 16), label: nil),
            addressReply(index: 6, prefix: 24, local: nil, address: nil, label: "empty"),
        ])]
        let addresses = try RouteNetlink(transport: t).addresses()
        #expect(addresses == [
            InterfaceAddress(index: 1, prefix: 8, address: [127, 0, 0, 1], label: "lo"),
            InterfaceAddress(index: 4, prefix: 32, address: [10, 0, 0, 1], label: "tun0"),
            InterfaceAddress(index: 5, prefix: 24, address: [192, 168, 1, 7], label: nil),
        ])
        #expect(t.sent == [RouteNetlink.addressDumpRequest().finish(seq: 0)])
    }

    @Test func parsesRoutes() throws {
        let t = RecordingTransport()
        t.replies = [.success([
            routeReply(table: UInt8(RT_TABLE_MAIN.rawValue), tableAttribute: UInt32(RT_TABLE_MAIN.rawValue), dst: nil, prefix: 0,
                       gateway: [10, 0, 3, 1], oif: 7),
            routeReply(table: UInt8(RT_TABLE_MAIN.rawValue), tableAttribute: UInt32(RT_TABLE_MAIN.rawValue), dst: [10, 0, 3, 0], prefix: 24,
                       gateway: nil, oif: 7),
            // Without RTA_TABLE: rtm_table counts.
            routeReply(table: UInt8(RT_TABLE_LOCAL.rawValue), tableAttribute: nil, dst: [10, 0, 3, 5], prefix: 32, gateway: nil, oif: 7),
            // A table above 255: rtm_table says RT_TABLE_COMPAT, RTA_TABLE has the real one.
            routeReply(table: UInt8(RT_TABLE_COMPAT.rawValue), tableAttribute: 1000, dst: [172, 16, 0, 0], prefix: 12,
                       gateway: [10, 0, 3, 9], oif: nil),
            NetlinkMessage(type: UInt16(RTM_NEWROUTE), flags: 0, seq: 0, payload: [2, 0, 0]),  // truncated: skipped
        ])]
        let routes = try RouteNetlink(transport: t).routes()
        #expect(routes == [
            Route(destination: [], prefix: 0, gateway: [10, 0, 3, 1], outputIndex: 7, table: 254),
            Route(destination: [10, 0, 3, 0], prefix: 24, gateway: nil, outputIndex: 7, table: 254),
            Route(destination: [10, 0, 3, 5], prefix: 32, gateway: nil, outputIndex: 7, table: 255),
            Route(destination: [172, 16, 0, 0], prefix: 12, gateway: [10, 0, 3, 9], outputIndex: nil, table: 1000),
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
        #expect(t.sent == [
            RouteNetlink.setUpRequest(index: 4, true).finish(seq: 0),
            RouteNetlink.addAddressRequest(index: 4, [10, 0, 0, 2], prefix: 24).finish(seq: 0),
            RouteNetlink.defaultRouteRequest(via: [10, 0, 0, 1], index: 4).finish(seq: 0),
        ])
    }
}
