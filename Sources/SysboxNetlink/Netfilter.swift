import CSysbox

#if canImport(Glibc)
import Glibc
#endif

/// nf_tables over NETLINK_NETFILTER, for the one question sysbox asks on every start: does a table
/// still exist (rules are written with `nft -f`; a flushed ruleset must be noticed without spawning it).
public struct NetfilterTables {
    public let transport: NetlinkTransport

    public init(transport: NetlinkTransport) {
        self.transport = transport
    }

    /// A socket of the calling thread's network namespace.
    public static func open() throws -> NetfilterTables {
        NetfilterTables(transport: try NetlinkSocket(protocol: NETLINK_NETFILTER))
    }

    /// NFT_MSG_GETTABLE request for `name` in `family` (NFPROTO_IPV4 = 2 for `ip`).
    static func getTableRequest(family: UInt8, name: String) -> NetlinkRequest {
        var r = NetlinkRequest(type: Int(NFNL_SUBSYS_NFTABLES) << 8 | Int(NFT_MSG_GETTABLE.rawValue), flags: 0)
        var header = nfgenmsg()
        header.nfgen_family = family
        header.version = UInt8(NFNETLINK_V0)
        header.res_id = 0
        r.append(struct: header)
        r.attribute(Int(NFTA_TABLE_NAME.rawValue), string: name)
        return r
    }

    /// Whether table `name` of `family` exists (NFT_MSG_GETTABLE; ENOENT means it does not).
    /// - Throws: `NetlinkError` for any other error (EPERM without CAP_NET_ADMIN).
    public func tableExists(family: UInt8 = 2, _ name: String) throws -> Bool {
        do {
            let replies = try transport.execute(Self.getTableRequest(family: family, name: name), operation: "get nftables table \(name)", dump: false)
            return !replies.isEmpty
        } catch let e as NetlinkError where e.errno == ENOENT {
            return false
        }
    }
}
