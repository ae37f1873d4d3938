import CSysbox

#if canImport(Glibc)
import Glibc
#endif

/// Sends netlink requests and collects their replies. The real one is `NetlinkSocket`; tests use a
/// recording fake.
public protocol NetlinkTransport: AnyObject {
    /// Sends `request` (with NLM_F_ACK) and returns the reply messages up to the ACK, or, for a dump,
    /// up to NLMSG_DONE.
    /// - Throws: `NetlinkError(operation, errno)` for a negative ACK.
    func execute(_ request: NetlinkRequest, operation: String, dump: Bool) throws -> [NetlinkMessage]
}

/// A `NETLINK_ROUTE` socket of the calling thread's network namespace.
public final class NetlinkSocket: NetlinkTransport {
    private let fd: Int32
    private var seq: UInt32

    /// `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)` (default NETLINK_ROUTE) and `bind`.
    /// - Throws: `NetlinkError("open netlink socket", errno)`.
    public init(protocol netlinkProtocol: Int32 = NETLINK_ROUTE) throws {
        let sock = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkProtocol)
        guard sock >= 0 else { throw NetlinkError(operation: "open netlink socket", errno: errno) }
        var addr = sockaddr_nl()
        addr.nl_family = sa_family_t(AF_NETLINK)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, socklen_t(MemoryLayout<sockaddr_nl>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(sock)
            throw NetlinkError(operation: "bind netlink socket", errno: e)
        }
        fd = sock
        seq = UInt32(truncatingIfNeeded: getpid()) &* 7919
    }

    deinit { close(fd) }

    public func execute(_ request: NetlinkRequest, operation: String, dump: Bool) throws -> [NetlinkMessage] {
        seq &+= 1
        let mySeq = seq
        let bytes = request.finish(seq: mySeq, ack: true)
        let sent = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == bytes.count else { throw NetlinkError(operation: operation, errno: sent < 0 ? errno : EIO) }
        var replies: [NetlinkMessage] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = recv(fd, &buffer, buffer.count, 0)
            if got < 0 {
                if errno == EINTR { continue }
                throw NetlinkError(operation: operation, errno: errno)
            }
            for message in try NetlinkMessage.parse(Array(buffer[0..<got])) where message.seq == mySeq {
                switch Int32(message.type) {
                case NLMSG_ERROR:
                    let code = message.payload.count >= 4 ? message.payload.i32(0) : -EPROTO
                    if code < 0 { throw NetlinkError(operation: operation, errno: -code) }
                    if !dump { return replies }
                case NLMSG_DONE:
                    return replies
                default:
                    replies.append(message)
                }
            }
        }
    }
}
