import CSysbox

#if canImport(Glibc)
import Glibc
#endif

/// A network interface from an RTM_GETLINK dump.
public struct Link: Sendable, Equatable {
    public var index: Int32
    public var name: String
    public var flags: UInt32
    public var master: Int32?
    public var kind: String?
    public var mtu: UInt32?
    public var mac: [UInt8]?
    /// IFLA_IFALIAS (`ip link set dev X alias Y`); nil when none is set.
    public var alias: String?
    /// IFLA_STATS64; nil when the kernel left it out of the reply.
    public var stats: LinkStats?

    public var isUp: Bool { flags & UInt32(IFF_UP) != 0 }
}

/// Byte and packet counters of a link, from IFLA_STATS64 (`struct rtnl_link_stats64`).
public struct LinkStats: Sendable, Equatable {
    /// rx_bytes, tx_bytes, rx_packets, tx_packets.
    public var rxBytes, txBytes, rxPackets, txPackets: UInt64

    /// Counters as given (for fakes and tests; the kernel's come from `links()` and `link(named:)`).
    public init(rxBytes: UInt64, txBytes: UInt64, rxPackets: UInt64, txPackets: UInt64) {
        self.rxBytes = rxBytes
        self.txBytes = txBytes
        self.rxPackets = rxPackets
        self.txPackets = txPackets
    }

    /// From the payload of IFLA_STATS64: rx_packets, tx_packets, rx_bytes, tx_bytes are its first four u64.
    init?(stats64 p: [UInt8]) {
        guard p.count >= 32 else { return nil }
        self.init(rxBytes: p.u64(16), txBytes: p.u64(24), rxPackets: p.u64(0), txPackets: p.u64(8))
    }
}

/// rtnetlink operations on links, addresses and routes, over any `NetlinkTransport`. Each one sends one
/// request and waits for its ACK; errors carry the operation and the kernel's errno.
public struct RouteNetlink {
    public let transport: NetlinkTransport

    public init(transport: NetlinkTransport) {
        self.transport = transport
    }

    static func ifinfo(index: Int32 = 0, flags: UInt32 = 0, change: UInt32 = 0) -> ifinfomsg {
        var m = ifinfomsg()
        m.ifi_family = UInt8(AF_UNSPEC)
        m.ifi_index = index
        m.ifi_flags = flags
        m.ifi_change = change
        return m
    }

    /// RTM_GETLINK dump (NLM_F_DUMP): every interface of the namespace.
    public func links() throws -> [Link] {
        try transport.execute(Self.linkDumpRequest(), operation: "list links", dump: true).compactMap(Self.link)
    }

    /// AF_UNSPEC and no IFLA_EXT_MASK (`ip link show` asks AF_PACKET with RTEXT_FILTER_VF: VF data
    /// sysbox never reads).
    static func linkDumpRequest() -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_GETLINK), flags: NLM_F_DUMP)
        r.append(struct: ifinfo())
        return r
    }

    static func link(_ m: NetlinkMessage) -> Link? {
        guard Int32(m.type) == Int32(RTM_NEWLINK), m.payload.count >= 16 else { return nil }
        var link = Link(index: m.payload.i32(4), name: "", flags: m.payload.u32(8))
        for a in NetlinkAttribute.parse(m.payload, from: 16) {
            switch Int(a.type) {
            case Int(IFLA_IFNAME): link.name = a.string
            case Int(IFLA_MASTER): link.master = a.uint32.map { Int32(bitPattern: $0) }
            case Int(IFLA_MTU): link.mtu = a.uint32
            case Int(IFLA_ADDRESS): link.mac = a.payload
            case Int(IFLA_IFALIAS): link.alias = a.string.isEmpty ? nil : a.string
            case Int(IFLA_STATS64): link.stats = LinkStats(stats64: a.payload)
            case Int(IFLA_LINKINFO):
                link.kind = NetlinkAttribute.parse(a.payload).first { Int($0.type) == Int(IFLA_INFO_KIND) }?.string
            default: break
            }
        }
        return link
    }

    /// The interface named `name`, or nil (RTM_GETLINK by name; ENODEV means there is none).
    public func link(named name: String) throws -> Link? {
        do {
            return try transport.execute(Self.getLinkRequest(name), operation: "get link \(name)", dump: false).compactMap(Self.link).first
        } catch let e as NetlinkError where e.errno == ENODEV {
            return nil
        }
    }

    static func getLinkRequest(_ name: String) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_GETLINK), flags: 0)
        r.append(struct: ifinfo())
        r.attribute(Int(IFLA_IFNAME), string: name)
        return r
    }

    func index(of name: String) throws -> Int32 {
        guard let link = try link(named: name) else { throw NetlinkError(operation: "find link \(name)", errno: ENODEV) }
        return link.index
    }

    /// RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL, kind `bridge`. EEXIST: a link of that name exists.
    public func createBridge(_ name: String) throws {
        _ = try transport.execute(Self.createBridgeRequest(name), operation: "create bridge \(name)", dump: false)
    }

    static func createBridgeRequest(_ name: String) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_NEWLINK), flags: NLM_F_CREATE | NLM_F_EXCL)
        r.append(struct: ifinfo())
        r.attribute(Int(IFLA_IFNAME), string: name)
        r.nested(Int(IFLA_LINKINFO)) { $0.attribute(Int(IFLA_INFO_KIND), Array("bridge".utf8)) }
        return r
    }

    /// RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) kind `veth` with the peer in VETH_INFO_PEER (its own
    /// ifinfomsg and name), both ends down, in this namespace. EEXIST: one of the names is taken.
    public func createVeth(_ name: String, peer: String) throws {
        try createVeth(name, peer: peer, peerNamespacePid: nil, peerMAC: nil, masterIndex: nil, up: false, mtu: nil)
    }

    /// One RTM_NEWLINK (NLM_F_CREATE|NLM_F_EXCL) kind `veth` that creates the pair fully configured:
    /// the host end `name` with IFLA_MTU, IFLA_MASTER and IFF_UP in ifi_flags/ifi_change as asked; the
    /// peer `peer` (VETH_INFO_PEER) with IFLA_MTU, IFLA_ADDRESS and IFLA_NET_NS_PID, so it is born in the
    /// network namespace of `peerNamespacePid` (nil: this one) under its final name and never exists in
    /// this namespace. The peer is created down. The kernel does not copy the MTU to the peer, hence it is
    /// sent for both ends.
    /// On any error neither end is left behind.
    /// - Throws: `NetlinkError` with EEXIST: a name is taken (here, or for the peer in the target
    ///   namespace); ESRCH: no process `peerNamespacePid`; EINVAL: no link `masterIndex`, or a bad MTU
    ///   or MAC; EOPNOTSUPP: link `masterIndex` takes no ports (not a bridge or bond); EPERM: not allowed.
    public func createVeth(
        _ name: String, peer: String, peerNamespacePid: Int32?, peerMAC: [UInt8]?,
        masterIndex: Int32?, up: Bool, mtu: UInt32?
    ) throws {
        let request = Self.createVethRequest(
            name, peer: peer, peerNamespacePid: peerNamespacePid, peerMAC: peerMAC,
            masterIndex: masterIndex, up: up, mtu: mtu)
        _ = try transport.execute(request, operation: "create veth \(name)/\(peer)", dump: false)
    }

    /// Attributes in iproute2's order for `ip link add NAME mtu M master B up type veth peer name PEER
    /// mtu M address MAC netns PID` (each end's options in argument order, then its IFLA_IFNAME), so the
    /// golden test compares the whole message.
    static func createVethRequest(
        _ name: String, peer: String, peerNamespacePid: Int32? = nil, peerMAC: [UInt8]? = nil,
        masterIndex: Int32? = nil, up: Bool = false, mtu: UInt32? = nil
    ) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_NEWLINK), flags: NLM_F_CREATE | NLM_F_EXCL)
        r.append(struct: ifinfo(flags: up ? UInt32(IFF_UP) : 0, change: up ? UInt32(IFF_UP) : 0))
        if let mtu { r.attribute(Int(IFLA_MTU), uint32: mtu) }
        if let masterIndex { r.attribute(Int(IFLA_MASTER), uint32: UInt32(bitPattern: masterIndex)) }
        r.attribute(Int(IFLA_IFNAME), string: name)
        r.nested(Int(IFLA_LINKINFO)) { info in
            // The kind without a NUL, as iproute2 sends it (the kernel compares with nla_strcmp).
            info.attribute(Int(IFLA_INFO_KIND), Array("veth".utf8))
            info.nested(Int(IFLA_INFO_DATA)) { data in
                data.nested(Int(VETH_INFO_PEER)) { p in
                    p.append(struct: ifinfo())
                    if let mtu { p.attribute(Int(IFLA_MTU), uint32: mtu) }
                    if let peerMAC { p.attribute(Int(IFLA_ADDRESS), peerMAC) }
                    if let peerNamespacePid { p.attribute(Int(IFLA_NET_NS_PID), uint32: UInt32(bitPattern: peerNamespacePid)) }
                    p.attribute(Int(IFLA_IFNAME), string: peer)
                }
            }
        }
        return r
    }

    /// RTM_NEWLINK setting IFLA_MASTER (enslave `name` to the bridge `master`).
    public func setMaster(_ name: String, master: String) throws {
        let index = try index(of: name), masterIndex = try self.index(of: master)
        _ = try transport.execute(Self.setMasterRequest(index: index, master: masterIndex), operation: "attach \(name) to \(master)", dump: false)
    }

    static func setMasterRequest(index: Int32, master: Int32) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_MASTER), uint32: UInt32(bitPattern: master)) }
    }

    /// RTM_NEWLINK changing IFF_UP (after an RTM_GETLINK to find the index; ENODEV: no such link).
    public func setUp(_ name: String, _ up: Bool = true) throws {
        _ = try transport.execute(Self.setUpRequest(index: try index(of: name), up), operation: "set \(name) \(up ? "up" : "down")", dump: false)
    }

    /// RTM_NEWLINK changing IFF_UP of the link with index `index` (no name lookup). ENODEV: no such link.
    public func setUp(index: Int32, _ up: Bool) throws {
        _ = try transport.execute(Self.setUpRequest(index: index, up), operation: "set link \(index) \(up ? "up" : "down")", dump: false)
    }

    /// RTM_NEWLINK on the link `index` with one attribute: the shape of every single-attribute change.
    static func changeRequest(index: Int32, _ attribute: (inout NetlinkRequest) -> Void) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_NEWLINK), flags: 0)
        r.append(struct: ifinfo(index: index))
        attribute(&r)
        return r
    }

    static func setUpRequest(index: Int32, _ up: Bool) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_NEWLINK), flags: 0)
        r.append(struct: ifinfo(index: index, flags: up ? UInt32(IFF_UP) : 0, change: UInt32(IFF_UP)))
        return r
    }

    /// RTM_NEWLINK setting IFLA_IFALIAS of the existing link `name` (after an RTM_GETLINK to find its
    /// index); an empty `alias` clears it.
    /// - Throws: `NetlinkError` with ENODEV: no such link; ERANGE: `alias` is longer than 255 bytes
    ///   (IFALIASZ - 1).
    public func setAlias(_ name: String, _ alias: String) throws {
        _ = try transport.execute(Self.setAliasRequest(index: try index(of: name), alias), operation: "set alias of \(name)", dump: false)
    }

    /// As iproute2 sends it: the alias bytes without a NUL (the length excludes it; the padding supplies
    /// one, and the kernel copies nla_len bytes and terminates them itself), so an empty alias is an
    /// attribute without payload, which the kernel takes as "clear".
    static func setAliasRequest(index: Int32, _ alias: String) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_IFALIAS), Array(alias.utf8)) }
    }

    /// RTM_NEWLINK with a new IFLA_IFNAME (the link must be down).
    public func rename(_ name: String, to newName: String) throws {
        _ = try transport.execute(Self.renameRequest(index: try index(of: name), to: newName), operation: "rename \(name) to \(newName)", dump: false)
    }

    static func renameRequest(index: Int32, to newName: String) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_IFNAME), string: newName) }
    }

    /// RTM_NEWLINK with IFLA_ADDRESS (a 6-byte MAC).
    public func setMAC(_ name: String, _ mac: [UInt8]) throws {
        _ = try transport.execute(Self.setMACRequest(index: try index(of: name), mac), operation: "set MAC of \(name)", dump: false)
    }

    static func setMACRequest(index: Int32, _ mac: [UInt8]) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_ADDRESS), mac) }
    }

    /// RTM_NEWLINK with IFLA_MTU.
    public func setMTU(_ name: String, _ mtu: UInt32) throws {
        _ = try transport.execute(Self.setMTURequest(index: try index(of: name), mtu), operation: "set MTU of \(name)", dump: false)
    }

    static func setMTURequest(index: Int32, _ mtu: UInt32) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_MTU), uint32: mtu) }
    }

    /// RTM_NEWLINK with IFLA_NET_NS_PID: moves the link into the network namespace of `pid`.
    public func moveToNamespace(_ name: String, pid: Int32) throws {
        _ = try transport.execute(
            Self.moveToNamespaceRequest(index: try index(of: name), pid: pid),
            operation: "move \(name) to the namespace of \(pid)", dump: false)
    }

    static func moveToNamespaceRequest(index: Int32, pid: Int32) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_NET_NS_PID), uint32: UInt32(bitPattern: pid)) }
    }

    /// RTM_NEWLINK with IFLA_NET_NS_FD: moves the link into the network namespace `fd` refers to (an
    /// open `/proc/PID/ns/net`, a pidfd, or a bind-mounted namespace file). EINVAL: not a network
    /// namespace.
    public func moveToNamespace(_ name: String, fd: Int32) throws {
        _ = try transport.execute(
            Self.moveToNamespaceRequest(index: try index(of: name), fd: fd),
            operation: "move \(name) to the namespace of fd \(fd)", dump: false)
    }

    static func moveToNamespaceRequest(index: Int32, fd: Int32) -> NetlinkRequest {
        changeRequest(index: index) { $0.attribute(Int(IFLA_NET_NS_FD), uint32: UInt32(bitPattern: fd)) }
    }

    /// RTM_DELLINK by name. A link that is already gone (ENODEV) counts as deleted.
    public func deleteLink(_ name: String) throws {
        do {
            _ = try transport.execute(Self.deleteLinkRequest(name), operation: "delete link \(name)", dump: false)
        } catch let e as NetlinkError where e.errno == ENODEV {
            return
        }
    }

    /// By name (one message, no index lookup); `ip link del` resolves the index first and sends that.
    static func deleteLinkRequest(_ name: String) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_DELLINK), flags: 0)
        r.append(struct: ifinfo())
        r.attribute(Int(IFLA_IFNAME), string: name)
        return r
    }

    /// RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL) of an IPv4 address with IFA_LOCAL and IFA_ADDRESS.
    /// EEXIST: the address is already there.
    public func addAddress(_ name: String, _ address: [UInt8], prefix: UInt8) throws {
        _ = try transport.execute(
            Self.addAddressRequest(index: try index(of: name), address, prefix: prefix),
            operation: "add address to \(name)", dump: false)
    }

    /// RTM_NEWADDR (NLM_F_CREATE|NLM_F_EXCL) of an IPv4 address on the link with index `index` (no name
    /// lookup). EEXIST: the address is already there; ENODEV: no such link.
    public func addAddress(index: Int32, _ address: [UInt8], prefix: UInt8) throws {
        _ = try transport.execute(
            Self.addAddressRequest(index: index, address, prefix: prefix),
            operation: "add address to link \(index)", dump: false)
    }

    /// RTM_DELADDR of the IPv4 address `address/prefix` (IFA_LOCAL and IFA_ADDRESS) of `name`, after an
    /// RTM_GETLINK to find its index. The kernel answers EADDRNOTAVAIL when no address matches, which
    /// counts as success: the address is not there afterwards. Note that the same address with another
    /// prefix length does not match, and is left in place.
    /// - Throws: `NetlinkError` with ENODEV: no such link.
    public func deleteAddress(_ name: String, _ address: [UInt8], prefix: UInt8) throws {
        let request = Self.deleteAddressRequest(index: try index(of: name), address, prefix: prefix)
        do {
            _ = try transport.execute(request, operation: "delete address from \(name)", dump: false)
        } catch let e as NetlinkError where e.errno == EADDRNOTAVAIL {
            return
        }
    }

    static func deleteAddressRequest(index: Int32, _ address: [UInt8], prefix: UInt8) -> NetlinkRequest {
        addressRequest(type: Int(RTM_DELADDR), flags: 0, index: index, address, prefix: prefix)
    }

    static func addAddressRequest(index: Int32, _ address: [UInt8], prefix: UInt8) -> NetlinkRequest {
        addressRequest(type: Int(RTM_NEWADDR), flags: NLM_F_CREATE | NLM_F_EXCL, index: index, address, prefix: prefix)
    }

    /// An IPv4 ifaddrmsg with IFA_LOCAL and IFA_ADDRESS, as `ip addr add/del` sends it.
    static func addressRequest(type: Int, flags: Int32, index: Int32, _ address: [UInt8], prefix: UInt8) -> NetlinkRequest {
        var r = NetlinkRequest(type: type, flags: flags)
        var m = ifaddrmsg()
        m.ifa_family = UInt8(AF_INET)
        m.ifa_prefixlen = prefix
        m.ifa_index = UInt32(bitPattern: index)
        r.append(struct: m)
        r.attribute(Int(IFA_LOCAL), address)
        r.attribute(Int(IFA_ADDRESS), address)
        return r
    }

    /// RTM_NEWROUTE (NLM_F_CREATE|NLM_F_EXCL): the IPv4 default route via `gateway` in the main table.
    /// EEXIST: there is a default route already; ENETUNREACH: no link has a subnet holding `gateway`.
    public func addDefaultRoute(via gateway: [UInt8]) throws {
        _ = try transport.execute(Self.defaultRouteRequest(via: gateway), operation: "add default route", dump: false)
    }

    /// RTM_NEWROUTE (NLM_F_CREATE|NLM_F_EXCL): the IPv4 default route via `gateway` out of the link with
    /// index `index` (RTA_OIF), in the main table.
    /// - Throws: `NetlinkError` with EEXIST: there is a default route already; ENODEV: no such link;
    ///   ENETUNREACH: `gateway` is not in a subnet of that link.
    public func addDefaultRoute(via gateway: [UInt8], index: Int32) throws {
        _ = try transport.execute(Self.defaultRouteRequest(via: gateway, index: index), operation: "add default route via link \(index)", dump: false)
    }

    static func defaultRouteRequest(via gateway: [UInt8], index: Int32? = nil) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(RTM_NEWROUTE), flags: NLM_F_CREATE | NLM_F_EXCL)
        var m = rtmsg()
        m.rtm_family = UInt8(AF_INET)
        m.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        m.rtm_protocol = UInt8(RTPROT_BOOT)
        m.rtm_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        m.rtm_type = UInt8(RTN_UNICAST)
        r.append(struct: m)
        r.attribute(Int(RTA_GATEWAY.rawValue), gateway)
        if let index { r.attribute(Int(RTA_OIF.rawValue), uint32: UInt32(bitPattern: index)) }
        return r
    }
}
