import CSysbox

#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 address of a link, from an RTM_GETADDR dump.
public struct InterfaceAddress: Sendable, Equatable {
    /// ifa_index: the link it is on.
    public var index: Int32
    /// ifa_prefixlen.
    public var prefix: UInt8
    /// IFA_LOCAL, else IFA_ADDRESS (they differ only on point-to-point links, where IFA_ADDRESS is the peer).
    public var address: [UInt8]
    /// IFA_LABEL (the link's name, or `name:alias` for an old-style alias address).
    public var label: String?

    /// An address as given (for fakes and tests; the kernel's come from `addresses()`).
    public init(index: Int32, prefix: UInt8, address: [UInt8], label: String? = nil) {
        self.index = index
        self.prefix = prefix
        self.address = address
        self.label = label
    }
}

/// An IPv4 route, from an RTM_GETROUTE dump.
public struct Route: Sendable, Equatable {
    /// RTA_DST; empty for the default route (which has no RTA_DST).
    public var destination: [UInt8]
    /// rtm_dst_len.
    public var prefix: UInt8
    /// RTA_GATEWAY; nil for a directly connected route (and for a multipath route, whose hops are in
    /// RTA_MULTIPATH, not parsed).
    public var gateway: [UInt8]?
    /// RTA_OIF.
    public var outputIndex: Int32?
    /// RTA_TABLE when present, else rtm_table (254 main, 255 local).
    public var table: UInt32

    /// A route as given (for fakes and tests; the kernel's come from `routes()`).
    public init(destination: [UInt8], prefix: UInt8, gateway: [UInt8]? = nil, outputIndex: Int32? = nil, table: UInt32) {
        self.destination = destination
        self.prefix = prefix
        self.gateway = gateway
        self.outputIndex = outputIndex
        self.table = table
    }
}

extension RouteNetlink {
    /// RTM_GETADDR dump (NLM_F_DUMP, ifa_family AF_INET): every IPv4 address of every link of the
    /// namespace.
    /// - Throws: `NetlinkError` with the errno of a failed dump (ENOBUFS: the socket overflowed).
    public func addresses() throws -> [InterfaceAddress] {
        try transport.execute(Self.addressDumpRequest(), operation: "list addresses", dump: true).compactMap(Self.address)
    }

    static func addressDumpRequest() -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_GETADDR), flags: NLM_F_DUMP)
        var m = ifaddrmsg()
        m.ifa_family = UInt8(AF_INET)
        r.append(struct: m)
        return r
    }

    /// An RTM_NEWADDR message: ifaddrmsg (family, prefixlen, flags, scope, index) then attributes.
    static func address(_ m: NetlinkMessage) -> InterfaceAddress? {
        guard Int32(m.type) == Int32(RTM_NEWADDR), m.payload.count >= 8, Int32(m.payload[0]) == AF_INET else { return nil }
        var local: [UInt8]?, address: [UInt8]?, label: String?
        for a in NetlinkAttribute.parse(m.payload, from: 8) {
            switch Int(a.type) {
            case Int(IFA_LOCAL): local = a.payload
            case Int(IFA_ADDRESS): address = a.payload
            case Int(IFA_LABEL): label = a.string
            default: break
            }
        }
        guard let found = local ?? address else { return nil }
        return InterfaceAddress(index: m.payload.i32(4), prefix: m.payload[1], address: found, label: label)
    }

    /// RTM_GETROUTE dump (NLM_F_DUMP, rtm_family AF_INET, rtm_table 0): the IPv4 routes of every table
    /// (main, local, and any other); callers filter on `table`.
    /// - Throws: `NetlinkError` with the errno of a failed dump (ENOBUFS: the socket overflowed).
    public func routes() throws -> [Route] {
        try transport.execute(Self.routeDumpRequest(), operation: "list routes", dump: true).compactMap(Self.route)
    }

    static func routeDumpRequest() -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_GETROUTE), flags: NLM_F_DUMP)
        var m = rtmsg()
        m.rtm_family = UInt8(AF_INET)
        r.append(struct: m)
        return r
    }

    /// An RTM_NEWROUTE message: rtmsg (family, dst_len, src_len, tos, table, protocol, scope, type, flags)
    /// then attributes.
    static func route(_ m: NetlinkMessage) -> Route? {
        guard Int32(m.type) == Int32(RTM_NEWROUTE), m.payload.count >= 12, Int32(m.payload[0]) == AF_INET else { return nil }
        var route = Route(destination: [], prefix: m.payload[1], table: UInt32(m.payload[4]))
        for a in NetlinkAttribute.parse(m.payload, from: 12) {
            switch Int(a.type) {
            case Int(RTA_DST.rawValue): route.destination = a.payload
            case Int(RTA_GATEWAY.rawValue): route.gateway = a.payload
            case Int(RTA_OIF.rawValue): route.outputIndex = a.uint32.map { Int32(bitPattern: $0) }
            case Int(RTA_TABLE.rawValue): if let table = a.uint32 { route.table = table }
            default: break
            }
        }
        return route
    }
}
