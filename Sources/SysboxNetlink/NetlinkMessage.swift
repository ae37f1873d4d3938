import CSysbox

#if canImport(Glibc)
import Glibc
#endif

/// Builds one netlink request: a `nlmsghdr`, a fixed family header (`ifinfomsg`, `ifaddrmsg`,
/// `rtmsg`), then route attributes (`rtattr`), each padded to 4 bytes, nested ones with their length
/// patched in when they close. Integers are in host byte order, as the kernel expects.
public struct NetlinkRequest: Sendable, Equatable {
    public private(set) var bytes: [UInt8] = []

    /// - Parameters:
    ///   - type: `RTM_NEWLINK`, `RTM_DELLINK`, …
    ///   - flags: `NLM_F_*` besides `NLM_F_REQUEST` (always set); `NLM_F_ACK` is added by the socket.
    public init(type: Int, flags: Int32) {
        append(UInt32(0))  // nlmsg_len, patched by `finish`
        append(UInt16(type))
        append(UInt16(truncatingIfNeeded: flags | Int32(NLM_F_REQUEST)))
        append(UInt32(0))  // nlmsg_seq, set by the socket
        append(UInt32(0))  // nlmsg_pid: the kernel
    }

    /// Appends a fixed-size kernel struct (its bytes as laid out by the C compiler).
    public mutating func append<T: BitwiseCopyable>(struct value: T) {
        withUnsafeBytes(of: value) { bytes.append(contentsOf: $0) }
    }

    mutating func append(_ v: UInt8) { bytes.append(v) }
    mutating func append(_ v: UInt16) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }
    mutating func append(_ v: UInt32) { withUnsafeBytes(of: v) { bytes.append(contentsOf: $0) } }

    private mutating func pad() {
        while bytes.count % 4 != 0 { bytes.append(0) }
    }

    /// An attribute with raw payload.
    public mutating func attribute(_ type: Int, _ payload: [UInt8]) {
        append(UInt16(4 + payload.count))
        append(UInt16(type))
        bytes.append(contentsOf: payload)
        pad()
    }

    /// A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND).
    public mutating func attribute(_ type: Int, string: String) {
        attribute(type, Array(string.utf8) + [0])
    }

    public mutating func attribute(_ type: Int, uint32: UInt32) {
        attribute(type, withUnsafeBytes(of: uint32) { Array($0) })
    }

    /// A nested attribute: `body` appends the children; the length is patched afterwards.
    public mutating func nested(_ type: Int, _ body: (inout NetlinkRequest) -> Void) {
        let start = bytes.count
        append(UInt16(0))
        append(UInt16(type))
        body(&self)
        let length = UInt16(bytes.count - start)
        bytes[start] = UInt8(length & 0xff)
        bytes[start + 1] = UInt8(length >> 8)
        pad()
    }

    /// The finished message with `seq`.
    public func finish(seq: UInt32, ack: Bool = true) -> [UInt8] {
        var out = bytes
        let length = UInt32(out.count)
        withUnsafeBytes(of: length) { for (i, b) in $0.enumerated() { out[i] = b } }
        if ack {
            let flags = UInt16(out[6]) | UInt16(out[7]) << 8 | UInt16(NLM_F_ACK)
            out[6] = UInt8(flags & 0xff)
            out[7] = UInt8(flags >> 8)
        }
        withUnsafeBytes(of: seq) { for (i, b) in $0.enumerated() { out[8 + i] = b } }
        return out
    }
}

/// One message of a reply datagram.
public struct NetlinkMessage: Sendable, Equatable {
    public var type: UInt16
    public var flags: UInt16
    public var seq: UInt32
    /// The bytes after the 16-byte header.
    public var payload: [UInt8]

    /// Splits a datagram into messages (4-byte aligned, lengths checked).
    public static func parse(_ data: [UInt8]) throws -> [NetlinkMessage] {
        var out: [NetlinkMessage] = []
        var offset = 0
        while offset + 16 <= data.count {
            let length = Int(data.u32(offset))
            guard length >= 16, offset + length <= data.count else {
                throw NetlinkError(operation: "parse reply", errno: EPROTO)
            }
            out.append(
                NetlinkMessage(
                    type: data.u16(offset + 4), flags: data.u16(offset + 6), seq: data.u32(offset + 8),
                    payload: Array(data[(offset + 16)..<(offset + length)])))
            offset += (length + 3) & ~3
        }
        return out
    }
}

/// One attribute of a reply.
public struct NetlinkAttribute: Sendable, Equatable {
    public var type: UInt16
    public var payload: [UInt8]

    /// Attributes starting at `offset` of `data` (NLA_F_NESTED and NLA_F_NET_BYTEORDER masked off).
    public static func parse(_ data: [UInt8], from offset: Int = 0) -> [NetlinkAttribute] {
        var out: [NetlinkAttribute] = []
        var i = offset
        while i + 4 <= data.count {
            let length = Int(data.u16(i))
            guard length >= 4, i + length <= data.count else { break }
            out.append(NetlinkAttribute(type: data.u16(i + 2) & 0x3fff, payload: Array(data[(i + 4)..<(i + length)])))
            i += (length + 3) & ~3
        }
        return out
    }

    /// The payload as a NUL-terminated string.
    public var string: String {
        String(decoding: payload.prefix { $0 != 0 }, as: UTF8.self)
    }

    public var uint32: UInt32? { payload.count >= 4 ? payload.u32(0) : nil }
}

/// A failed netlink request: which operation and the kernel's errno (from the negative ACK).
public struct NetlinkError: Error, CustomStringConvertible, Sendable, Equatable {
    public let operation: String
    public let errno: Int32

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(operation): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

extension Array where Element == UInt8 {
    func u16(_ i: Int) -> UInt16 { UInt16(self[i]) | UInt16(self[i + 1]) << 8 }
    func u32(_ i: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(self[i + $1]) << (8 * UInt32($1)) } }
    func i32(_ i: Int) -> Int32 { Int32(bitPattern: u32(i)) }
    func u64(_ i: Int) -> UInt64 { UInt64(u32(i)) | UInt64(u32(i + 4)) << 32 }
}
