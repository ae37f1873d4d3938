import Foundation
import SysboxNetlink

#if canImport(Glibc)
import Glibc
#endif

// Kernel constants (linux/netlink.h, linux/rtnetlink.h): CSysbox, which has the headers, is not a product.
let rtmNewLink = 16, rtmGetLink = 18
let nlmFDump: Int32 = 0x300
let nlmsgDone: UInt16 = 3, nlmsgError: UInt16 = 2

/// What `NetlinkSocket.execute` does around the syscalls, without them: the request is finished (length,
/// sequence number, NLM_F_ACK), and the reply datagrams are split into messages and filtered by sequence
/// number up to NLMSG_DONE.
final class ReplayTransport: NetlinkTransport {
    let datagrams: [[UInt8]]
    let seq: UInt32
    var sentBytes = 0

    init(datagrams: [[UInt8]] = [], seq: UInt32 = 1) {
        self.datagrams = datagrams
        self.seq = seq
    }

    func execute(_ request: NetlinkRequest, operation: String, dump: Bool) throws -> [NetlinkMessage] {
        let bytes = request.finish(seq: seq, ack: true)
        sentBytes &+= bytes.count
        var replies: [NetlinkMessage] = []
        for datagram in datagrams {
            for message in try NetlinkMessage.parse(datagram) where message.seq == seq {
                switch message.type {
                case nlmsgError: return replies
                case nlmsgDone: return replies
                default: replies.append(message)
                }
            }
        }
        return replies
    }
}

enum NetlinkFixture {
    /// The datagrams of a real RTM_GETLINK dump reply, captured in a fresh network namespace holding
    /// `lo`, a bridge and `pairs` veth pairs with one end of each on the bridge (what a host with
    /// `pairs` running containers shows). Needs root; nothing is created outside that namespace.
    static func captureLinkDump(pairs: Int) throws -> [[UInt8]] {
        try NetworkNamespace.runInNew { nl -> [[UInt8]] in
            try nl.setUp("lo")
            try nl.createBridge("sbmbr0")
            try nl.setUp("sbmbr0")
            for i in 0..<pairs {
                try nl.createVeth("sbmv\(i)", peer: "sbmp\(i)")
                try nl.setMaster("sbmv\(i)", master: "sbmbr0")
                try nl.setUp("sbmv\(i)")
            }
            return try rawDump()
        }
    }

    /// Sends the RTM_GETLINK dump request sysbox sends (AF_UNSPEC ifinfomsg, no attributes) on a socket
    /// of the calling thread's namespace and returns the reply datagrams as received, up to NLMSG_DONE.
    private static func rawDump() throws -> [[UInt8]] {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0 /* NETLINK_ROUTE */)
        guard fd >= 0 else { throw NetlinkError(operation: "open netlink socket", errno: errno) }
        defer { close(fd) }
        var request = NetlinkRequest(type: rtmGetLink, flags: nlmFDump)
        request.append(struct: (UInt64(0), UInt64(0)))  // struct ifinfomsg, all zero
        let bytes = request.finish(seq: 1, ack: true)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
            throw NetlinkError(operation: "send link dump", errno: errno)
        }
        var datagrams: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let got = recv(fd, &buffer, buffer.count, 0)
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw NetlinkError(operation: "receive link dump", errno: got < 0 ? errno : EIO) }
            let datagram = Array(buffer[0..<got])
            datagrams.append(datagram)
            if try NetlinkMessage.parse(datagram).contains(where: { $0.type == nlmsgDone || $0.type == nlmsgError }) {
                return datagrams
            }
        }
    }
}
