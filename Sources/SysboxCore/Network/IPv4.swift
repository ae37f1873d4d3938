/// An IPv4 address as a 32-bit number (host order), parsed and printed as a dotted quad.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Parses `10.0.3.7`; nil for anything else.
    public init?(_ text: String) {
        guard let octets = try? Values.ipv4(text) else { return nil }
        value = octets.reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var octets: [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
    public var description: String { octets.map(String.init).joined(separator: ".") }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

/// An IPv4 subnet `address/prefix`, normalised to its network address.
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefix: Int

    public init(_ address: IPv4Address, prefix: Int) {
        self.prefix = prefix
        network = IPv4Address(address.value & Self.mask(prefix))
    }

    /// Parses `10.0.3.0/24` (a host address with its prefix, like `10.0.3.1/24`, gives its subnet).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])), let p = Int(parts[1]), (0...32).contains(p) else { return nil }
        self.init(address, prefix: p)
    }

    static func mask(_ prefix: Int) -> UInt32 { prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix) }

    public var broadcast: IPv4Address { IPv4Address(network.value | ~Self.mask(prefix)) }
    public var description: String { "\(network)/\(prefix)" }

    public func contains(_ a: IPv4Address) -> Bool { a.value & Self.mask(prefix) == network.value }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let p = min(prefix, other.prefix)
        return network.value & Self.mask(p) == other.network.value & Self.mask(p)
    }

    /// The host addresses: all but the network and the broadcast address.
    public var hosts: ClosedRange<UInt32>? {
        guard prefix <= 30 else { return nil }
        return (network.value + 1)...(broadcast.value - 1)
    }
}

/// IP address management for a managed network: the lowest free address, stable once leased.
public enum IPAM {
    /// The lowest host address of `subnet` that is neither the gateway (the bridge's own) nor in `taken`.
    /// - Throws: `SysboxError(.inUse)` when the subnet is full.
    public static func nextFree(in subnet: IPv4Subnet, gateway: IPv4Address, taken: Set<IPv4Address>) throws -> IPv4Address {
        if let range = subnet.hosts {
            for v in range where v != gateway.value && !taken.contains(IPv4Address(v)) { return IPv4Address(v) }
        }
        throw SysboxError(.inUse, "network \(subnet) has no free address left (\(taken.count) leased); use a larger subnet")
    }

    /// Checks a static address: inside the subnet, not reserved, not held by someone else.
    public static func checkStatic(_ address: IPv4Address, in subnet: IPv4Subnet, gateway: IPv4Address, heldBy holder: String?) throws {
        guard subnet.contains(address) else {
            throw SysboxError.invalid("\(address) is not in network \(subnet)")
        }
        guard let range = subnet.hosts, range.contains(address.value), address != gateway else {
            throw SysboxError.invalid("\(address) is reserved in \(subnet) (network, gateway or broadcast address)")
        }
        if let holder { throw SysboxError(.inUse, "\(address) is already leased to \(holder)") }
    }

    /// The first /24 in 10.0.0.0/8 (from 10.0.3.0 up, skipping 10.0.0-2.x that home routers favour) that
    /// overlaps none of `used` (the host's routes and addresses).
    public static func freeSubnet(avoiding used: [IPv4Subnet]) -> IPv4Subnet? {
        var third: UInt32 = 3
        var second: UInt32 = 0
        while second < 256 {
            let candidate = IPv4Subnet(IPv4Address(10 << 24 | second << 16 | third << 8), prefix: 24)
            if !used.contains(where: { $0.overlaps(candidate) && $0.prefix > 0 }) { return candidate }
            third += 1
            if third == 256 { third = 0; second += 1 }
        }
        return nil
    }
}
