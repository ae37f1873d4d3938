import SysboxStore

/// The device types sysbox knows. `none` masks a device of the same name inherited from a profile.
public enum DeviceType: String, CaseIterable, Sendable {
    case nic, disk, proxy, none

    /// Keys each type accepts (besides `type`), with their checks.
    var keys: [String: @Sendable (String) throws(ValueError) -> Void] {
        switch self {
        case .nic:
            return [
                "network": { v throws(ValueError) in
                    if let p = Names.problem(v, as: .network) { throw ValueError(p) }
                },
                "name": { v throws(ValueError) in try Values.interfaceName(v) },
                "hwaddr": { v throws(ValueError) in _ = try Values.mac(v) },
                "ipv4.address": { v throws(ValueError) in _ = try Values.hostIPv4(v) },
                // LXD's bridge filtering (BridgeFilters): no spoofing of another MAC or IPv4 address.
                "security.mac_filtering": { v throws(ValueError) in _ = try Values.bool(v) },
                "security.ipv4_filtering": { v throws(ValueError) in _ = try Values.bool(v) },
                "security.ipv6_filtering": { v throws(ValueError) in
                    if try Values.bool(v) {
                        throw ValueError("IPv6 is not supported yet (sysbox networks have no IPv6, so there is nothing to filter); unset it or set it to false")
                    }
                }
            ]
        case .disk:
            return [
                "path": { v throws(ValueError) in _ = try Values.absolutePath(v) },
                "source": { v throws(ValueError) in _ = try Values.absolutePath(v) },
                "readonly": { v throws(ValueError) in _ = try Values.bool(v) },
                // Unprivileged containers: an idmapped bind (host ids show as the container's own).
                "shift": { v throws(ValueError) in _ = try Values.bool(v) },
                // I/O throttles on the block device under the source (the root disk: under the
                // container's directory), live: bytes per second (10MB) or operations (100iops).
                "limits.read": { v throws(ValueError) in _ = try Values.ioLimit(v) },
                "limits.write": { v throws(ValueError) in _ = try Values.ioLimit(v) },
                "limits.max": { v throws(ValueError) in _ = try Values.ioLimit(v) }
            ]
        case .proxy:
            // LXD's keys (Proxies): host port → port inside the container, IPv4, one port per device.
            return [
                "listen": { v throws(ValueError) in _ = try ProxyEndpoint.parse(v) },
                "connect": { v throws(ValueError) in _ = try ProxyEndpoint.parse(v) },
                "bind": { v throws(ValueError) in
                    if v == "container" || v == "instance" {
                        throw ValueError("bind=\(v) (listening inside the container) is not supported; use bind=host (the default)")
                    }
                    guard v == "host" else { throw ValueError("expected host (the default: listen on the host, connect inside the container)") }
                },
                "nat": { v throws(ValueError) in _ = try Values.bool(v) }
            ]
        case .none:
            return [:]
        }
    }

    var required: [String] {
        switch self {
        case .nic: return ["network"]
        case .disk: return ["path"]
        case .proxy: return ["listen", "connect"]
        case .none: return []
        }
    }
}

/// Device validation: one device on its own, and a set of (expanded) devices together.
public enum Devices {
    /// The device type named in `config`.
    /// - Throws: `SysboxError(.invalidArgument)` when `type` is missing or unknown.
    public static func type(of name: String, _ config: [String: String]) throws -> DeviceType {
        let all = DeviceType.allCases.map(\.rawValue)
        guard let typeName = config["type"] else {
            throw SysboxError.invalid("device \(name) has no type; set type to one of: \(all.joined(separator: ", "))")
        }
        guard let type = DeviceType(rawValue: typeName) else {
            throw SysboxError.invalid("device \(name) has unknown type \(Names.quote(typeName))\(Suggest.hint(typeName, all, then: "types: \(all.joined(separator: ", "))"))")
        }
        return type
    }

    /// Checks one key of a device of type `type`: a known key, and a valid value without spaces around it.
    public static func validateKey(device name: String, type: DeviceType, key: String, value: String) throws {
        let checks = type.keys
        guard let check = checks[key] else {
            let known = checks.keys.sorted()
            let list = known.isEmpty ? "it takes no keys" : "known keys: \(known.joined(separator: ", "))"
            throw SysboxError.invalid("device \(name) (\(type.rawValue)) has unknown key \(Names.display(key))\(Suggest.hint(key, known, then: list))")
        }
        if let first = value.first, let last = value.last, first.isWhitespace || last.isWhitespace {
            throw SysboxError.invalid("device \(name) (\(type.rawValue)): invalid value \(Names.quote(value)) for \(key): remove the spaces around it")
        }
        do {
            try check(value)
        } catch {
            throw SysboxError.invalid("device \(name) (\(type.rawValue)): invalid value \(Names.quote(value)) for \(key): \(error.message)", cause: error)
        }
    }

    /// Checks what a device needs as a whole: required keys, root disk without source, other disks with one.
    public static func validateComplete(name: String, type: DeviceType, _ config: [String: String]) throws {
        for key in type.required where config[key] == nil {
            throw SysboxError.invalid("device \(name) (\(type.rawValue)) needs \(key)")
        }
        if type == .nic, config["name"] == nil {
            do { try Values.interfaceName(name) } catch {
                throw SysboxError.invalid(
                    "device \(name) (nic): without a name key the device name is the interface name in the container, and \(error.message); set name=eth1 (or another)",
                    cause: error)
            }
        }
        if type == .proxy { try Proxies.validateComplete(name: name, config) }
        if type == .disk, let path = config["path"] {
            let isRoot = (try? Values.absolutePath(path)) == "/"
            if isRoot && config["source"] != nil {
                throw SysboxError.invalid("device \(name): the root disk (path /) takes no source; it is the container's own filesystem")
            }
            if !isRoot && config["source"] == nil {
                throw SysboxError.invalid("device \(name) (disk at \(path)) needs source, the host path to mount")
            }
            let on = { (key: String) in (try? Values.bool(config[key] ?? "false")) == true }
            if on("shift") && on("readonly") {
                // The kernel does not lock a bind made for a user namespace: its root could remount it
                // read-write, and with shift it owns what it would then write.
                throw SysboxError.invalid(
                    "device \(name): readonly=true with shift=true is refused (the container's root could remount it read-write and write as the files' owners); drop one of them")
            }
        }
    }

    /// Checks one device's name, type and keys.
    /// - Throws: `SysboxError(.invalidArgument)` naming the device, the key and the fix.
    public static func validate(name: String, _ config: [String: String]) throws {
        try Names.validate(name, as: .device)
        let type = try type(of: name, config)
        for (key, value) in config.sorted(by: { $0.key < $1.key }) where key != "type" {
            try validateKey(device: name, type: type, key: key, value: value)
        }
        try validateComplete(name: name, type: type, config)
    }

    /// Checks that devices can live together: one root disk at most (exactly one when `requireRoot`),
    /// distinct mount paths, distinct interface names.
    public static func validateSet(_ devices: DeviceMap, requireRoot: Bool) throws {
        var roots: [String] = []
        var paths: [String: String] = [:]
        var interfaces: [String: String] = [:]
        var staticAddresses: [String: String] = [:]
        for (name, config) in devices.sorted(by: { $0.key < $1.key }) {
            switch config["type"] {
            case "disk":
                let path = (try? Values.absolutePath(config["path"] ?? "")) ?? config["path"] ?? ""
                if path == "/" {
                    roots.append(name)
                    continue
                }
                if let other = paths[path] {
                    throw SysboxError.invalid("devices \(other) and \(name) are both mounted at \(path); remove one or change its path")
                }
                paths[path] = name
            case "nic":
                let ifname = config["name"] ?? name
                if let other = interfaces[ifname] {
                    throw SysboxError.invalid("devices \(other) and \(name) both create interface \(ifname); set a different name on one")
                }
                interfaces[ifname] = name
                if let address = config["ipv4.address"] {
                    let key = (config["network"] ?? "") + " " + address
                    if let other = staticAddresses[key] {
                        throw SysboxError.invalid("devices \(other) and \(name) both have ipv4.address \(address) on network \(config["network"] ?? ""); give one another address")
                    }
                    staticAddresses[key] = name
                }
            default:
                break
            }
        }
        try Proxies.validateSet(devices)
        if roots.count > 1 {
            throw SysboxError.invalid("devices \(roots.joined(separator: " and ")) are both root disks (path /); keep one")
        }
        if requireRoot && roots.isEmpty {
            throw SysboxError.invalid("no root disk: a container needs a disk device with path / (the default profile has one)")
        }
    }
}

/// A profile's or a container's own settings, before expansion.
public struct ConfigLayer: Equatable, Sendable {
    public var config: [String: String]
    public var devices: DeviceMap

    public init(config: [String: String] = [:], devices: DeviceMap = [:]) {
        self.config = config
        self.devices = devices
    }
}

/// Expansion: the effective config of a container.
public enum Expansion {
    /// Applies `profiles` in order (a later profile wins over an earlier one, key by key and device by
    /// device), then the container's own layer, which wins over all of them. A device is replaced
    /// whole, never merged key by key (as in LXD).
    public static func expand(profiles: [ConfigLayer], local: ConfigLayer) -> ConfigLayer {
        var result = ConfigLayer()
        for layer in profiles + [local] {
            result.config.merge(layer.config) { _, new in new }
            result.devices.merge(layer.devices) { _, new in new }
        }
        return result
    }
}
