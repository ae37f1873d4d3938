/// The config keys of a managed network (the subset of Incus's bridge network options sysbox implements),
/// and the settings they add up to.
public enum NetworkConfig {
    public struct Key: Sendable {
        public let name: String
        public let defaultValue: String?
        public let summary: String
        let check: @Sendable (String) throws(ValueError) -> Void
    }

    /// Every fixed key, sorted by name. `user.*` keys are free-form.
    public static let keys: [Key] = [
        Key(name: "dns.domain", defaultValue: "sysbox", summary: "domain of the containers' names in DNS (web1.sysbox)") { v throws(ValueError) in try domain(v) },
        Key(name: "ipv4.address", defaultValue: nil, summary: "the bridge's address and prefix (10.0.3.1/24), or auto for a free /24 in 10.0.0.0/8") { v throws(ValueError) in
            if v != "auto" { _ = try gatewayCIDR(v) }
        },
        Key(name: "ipv4.dhcp", defaultValue: "true", summary: "serve DHCP on the bridge (a reservation for every container)") { v throws(ValueError) in _ = try Values.bool(v) },
        Key(name: "ipv4.nat", defaultValue: "true", summary: "masquerade traffic from the subnet to other networks (nftables)") { v throws(ValueError) in _ = try Values.bool(v) }
    ]

    private static let byName: [String: Key] = Dictionary(uniqueKeysWithValues: keys.map { ($0.name, $0) })

    /// Checks that users may set `name` to `value` on a network.
    /// - Throws: `SysboxError(.invalidArgument)`: unknown key (with a suggestion), bad value.
    public static func validate(_ name: String, _ value: String) throws {
        try InstanceConfig.validateKeyName(name)
        if name.hasPrefix("user.") {
            guard name.count > 5 else { throw SysboxError.invalid("invalid key \(name): the key needs a name after 'user.'") }
            if value.contains("\0") { throw SysboxError.invalid("invalid value for \(name): it contains a NUL byte") }
            return
        }
        guard let key = byName[name] else { throw unknownKey(name) }
        if let first = value.first, let last = value.last, first.isWhitespace || last.isWhitespace {
            throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(name): remove the spaces around it")
        }
        do {
            try key.check(value)
        } catch {
            throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(name): \(error.message)", cause: error)
        }
    }

    /// Checks that `name` is a network key (to read it).
    public static func validateKey(_ name: String) throws {
        try InstanceConfig.validateKeyName(name)
        if (name.hasPrefix("user.") && name.count > 5) || byName[name] != nil { return }
        throw unknownKey(name)
    }

    /// An unknown key, with a suggestion; LXD's ipv6.* keys are named as not supported yet rather than
    /// taken for a typo of an ipv4.* key (issue 14).
    static func unknownKey(_ name: String) -> SysboxError {
        if name.hasPrefix("ipv6.") {
            return SysboxError(.unsupported, "\(name): IPv6 is not supported by sysbox networks yet (they are IPv4 only); leave out the ipv6.* keys")
        }
        let known = keys.map(\.name)
        return SysboxError.invalid("unknown network key \(name)\(Suggest.hint(name, known, then: "network keys: \(known.joined(separator: ", ")), user.*"))")
    }

    /// Checks that `name` may be unset (a known key; ipv4.address may not: a network needs its subnet).
    public static func validateUnset(_ name: String) throws {
        if name == "ipv4.address" {
            throw SysboxError.invalid("ipv4.address cannot be unset: a network needs its subnet; set another one (ipv4.address=10.0.5.1/24 or auto)")
        }
        try validateKey(name)
    }

    /// A DNS domain: dot-separated labels of letters, digits and `-`, each 1–63 characters.
    static func domain(_ s: String) throws(ValueError) {
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        guard !s.isEmpty, s.count <= 253,
            labels.allSatisfy({ l in
                (1...63).contains(l.count) && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                    && l.first != "-" && l.last != "-"
            })
        else {
            throw ValueError("expected a DNS domain like sysbox or lab.example.net (letters, digits, '-', dots)")
        }
    }

    /// `10.0.3.1/24`: the bridge's (gateway's) address in its subnet, prefix 8–30, a usable host address
    /// that is neither the network nor the broadcast address.
    public static func gatewayCIDR(_ s: String) throws(ValueError) -> (IPv4Address, IPv4Subnet) {
        if s.contains(":") { throw ValueError("IPv6 is not supported yet; give an IPv4 address like 10.0.3.1/24, or auto") }
        if s.lowercased() == "none" { throw ValueError("a network without IPv4 (none) is not supported yet; give an IPv4 address like 10.0.3.1/24, or auto") }
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let prefix = Int(parts[1]), parts[1].allSatisfy(\.isASCIIDigit) else {
            throw ValueError("expected the bridge's address with a prefix, like 10.0.3.1/24, or auto")
        }
        guard (8...30).contains(prefix) else { throw ValueError("the prefix must be 8 to 30 (a /\(prefix) has no room for containers)") }
        let octets: [UInt8]
        do { octets = try Values.hostIPv4(String(parts[0])) } catch {
            throw ValueError(error.message.replacingOccurrences(of: "cannot be a container's address", with: "cannot be a bridge's address"))
        }
        let address = IPv4Address(octets.reduce(0) { $0 << 8 | UInt32($1) })
        let subnet = IPv4Subnet(address, prefix: prefix)
        guard address != subnet.network, address != subnet.broadcast else {
            throw ValueError(
                "\(address) is the \(address == subnet.network ? "network" : "broadcast") address of \(subnet); give the bridge a host address, like \(IPv4Address(subnet.network.value + 1))/\(prefix)"
            )
        }
        return (address, subnet)
    }
}

/// A network's effective settings (its config with defaults applied).
public struct NetworkSettings: Sendable, Equatable {
    public var name: String
    public var gateway: IPv4Address
    public var subnet: IPv4Subnet
    public var nat: Bool
    public var dhcp: Bool
    public var domain: String

    /// From a stored config (whose ipv4.address is concrete: `auto` is resolved at create).
    public init(name: String, config: [String: String]) throws {
        self.name = name
        guard let cidr = config["ipv4.address"], let (gw, subnet) = try? NetworkConfig.gatewayCIDR(cidr) else {
            throw SysboxError(
                .internalError,
                "network \(name) has no usable ipv4.address (\(config["ipv4.address"] ?? "unset")); set one with: sysbox network set \(name) ipv4.address=10.0.5.1/24")
        }
        gateway = gw
        self.subnet = subnet
        nat = (try? Values.bool(config["ipv4.nat"] ?? "true")) ?? true
        dhcp = (try? Values.bool(config["ipv4.dhcp"] ?? "true")) ?? true
        domain = config["dns.domain"] ?? "sysbox"
    }
}
