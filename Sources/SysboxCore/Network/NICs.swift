import CSysbox
import Foundation
import GRDB
import SysboxNetlink
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

extension StartPlan {
    /// A NIC as the monitor attaches it: a veth pair whose host end joins the bridge and whose peer is
    /// created inside the container's network namespace.
    public struct Nic: Codable, Sendable, Equatable {
        public var device: String
        /// Interface name inside the container (`eth0`).
        public var name: String
        /// Host end of the veth pair (`volatile.<dev>.host_name`).
        public var hostName: String
        public var hwaddr: String
        public var address: String
        public var prefix: Int
        public var gateway: String
        public var bridge: String
        /// The container's default route goes through this NIC's gateway (the first NIC only).
        public var defaultRoute: Bool
    }
}

/// A NIC's live figures for `info`.
public struct NicState: Sendable, Equatable {
    public var device: String
    public var name: String
    public var network: String
    public var hostName: String
    public var hwaddr: String
    public var address: String
    /// Bytes received and sent by the container (the host end's counters, swapped).
    public var rxBytes: UInt64?
    public var txBytes: UInt64?
}

extension Manager {
    /// The NIC devices of an expansion, sorted by device name.
    static func nicDevices(_ devices: DeviceMap) -> [(String, [String: String])] {
        devices.filter { $0.value["type"] == "nic" }.sorted { $0.key < $1.key }
    }

    /// A random MAC in the `00:16:3e` range LXD uses.
    static func randomMAC() -> String {
        var g = SystemRandomNumberGenerator()
        return "00:16:3e:" + (0..<3).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &g)) }.joined(separator: ":")
    }

    /// A host-side veth name: `sbx` and 8 hex digits (11 characters, under the kernel's 15).
    static func randomHostName() -> String {
        "sbx" + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
    }

    static func missingNetwork(device: String, network: String, container name: String) -> SysboxError {
        SysboxError.notFound("device \(device): network \(network) does not exist; create it (sysbox network create \(network)) or point the NIC at another one (sysbox config device set \(name) \(device) network=NAME)")
    }

    /// Prepares the NICs of a container about to start: the default network is created on first use,
    /// every NIC gets its lease (stable: the same address at every start; a static `ipv4.address` is
    /// checked against the other leases), its MAC and host-side name (kept in `volatile.*`), all in one
    /// transaction; then each network is brought up on the host.
    /// - Throws: `SysboxError` naming the device: missing network, taken address, full subnet.
    func prepareNICs(_ name: String, devices: DeviceMap) throws -> [StartPlan.Nic] {
        let nics = Self.nicDevices(devices)
        guard !nics.isEmpty else {
            try write { db in
                let id = try container(db, name).id ?? 0
                try db.execute(sql: "DELETE FROM ipv4_leases WHERE container_id = ?", arguments: [id])
            }
            return []
        }
        // Every network must exist (but the default one, made on first use) before anything is created.
        let known = Set(try read { db in try String.fetchAll(db, sql: "SELECT name FROM networks") })
        for (device, d) in nics {
            let network = d["network"] ?? ""
            if network != Self.defaultNetwork && !known.contains(network) {
                throw Self.missingNetwork(device: device, network: network, container: name)
            }
        }
        if nics.contains(where: { $0.1["network"] == Self.defaultNetwork }) { try ensureDefaultNetwork() }
        var plans: [StartPlan.Nic] = []
        var networks: Set<String> = []
        try write { db in
            let record = try container(db, name)
            let id = record.id ?? 0
            var config = try ConfigTable.containers.load(db, owner: id)
            var kept: [String] = []
            for (index, (device, d)) in nics.enumerated() {
                let networkName = d["network"] ?? ""
                guard let net = try NetworkRecord.filter(Column("name") == networkName).fetchOne(db) else {
                    throw Self.missingNetwork(device: device, network: networkName, container: name)
                }
                let s = try settings(db, net)
                let mac = d["hwaddr"] ?? config["volatile.\(device).hwaddr"] ?? Self.randomMAC()
                if d["hwaddr"] == nil { config["volatile.\(device).hwaddr"] = mac }
                let hostName = config["volatile.\(device).host_name"] ?? Self.randomHostName()
                config["volatile.\(device).host_name"] = hostName
                let existing = try IPv4LeaseRecord.filter(Column("container_id") == id && Column("device_name") == device).fetchOne(db)
                var address: IPv4Address
                if let text = d["ipv4.address"], let wanted = IPv4Address(text) {
                    try checkStatic(db, wanted, network: net, settings: s, container: id, device: device)
                    address = wanted
                } else if let existing, existing.networkId == net.id, let a = IPv4Address(existing.address),
                          s.subnet.contains(a), a != s.gateway, !existing.isStatic {
                    address = a
                } else {
                    let taken = Set(try String.fetchAll(db, sql: "SELECT address FROM ipv4_leases WHERE network_id = ? AND NOT (container_id = ? AND device_name = ?)",
                                                        arguments: [net.id, id, device]).compactMap(IPv4Address.init))
                    do {
                        address = try IPAM.nextFree(in: s.subnet, gateway: s.gateway, taken: taken)
                    } catch let e as SysboxError {
                        throw SysboxError(e.code, "device \(device): \(e.message)")
                    }
                }
                try db.execute(sql: "DELETE FROM ipv4_leases WHERE container_id = ? AND device_name = ?", arguments: [id, device])
                var lease = IPv4LeaseRecord(networkId: net.id ?? 0, address: address.description, containerId: id, deviceName: device,
                                            hwaddr: mac, isStatic: d["ipv4.address"] != nil, createdAt: existing?.createdAt ?? Date())
                try lease.insert(db)
                kept.append(device)
                networks.insert(networkName)
                plans.append(StartPlan.Nic(device: device, name: d["name"] ?? device, hostName: hostName, hwaddr: mac,
                                           address: address.description, prefix: s.subnet.prefix, gateway: s.gateway.description,
                                           bridge: networkName, defaultRoute: index == 0))
            }
            // Leases of devices that are no longer NICs go.
            let placeholders = kept.map { _ in "?" }.joined(separator: ", ")
            try db.execute(sql: "DELETE FROM ipv4_leases WHERE container_id = ? AND device_name NOT IN (\(placeholders))",
                           arguments: StatementArguments([id] + kept))
            for key in config.keys where key.hasPrefix("volatile.") && (key.hasSuffix(".hwaddr") || key.hasSuffix(".host_name")) {
                let device = key.dropFirst("volatile.".count).split(separator: ".").first.map(String.init) ?? ""
                if !kept.contains(device) { config[key] = nil }
            }
            try ConfigTable.containers.replace(db, owner: id, with: config)
        }
        for network in networks.sorted() { try bringUp(network) }
        return plans
    }

    /// Checks the static `ipv4.address` of every NIC of a (new) expansion against the leases of other
    /// containers, so that `config device set` refuses a taken address at once (naming the holder).
    func checkStaticAddresses(_ db: Database, container id: Int64?, devices: DeviceMap) throws {
        for (device, d) in Self.nicDevices(devices) {
            guard let text = d["ipv4.address"], let wanted = IPv4Address(text),
                  let net = try NetworkRecord.filter(Column("name") == (d["network"] ?? "")).fetchOne(db),
                  let s = try? settings(db, net) else { continue }
            try checkStatic(db, wanted, network: net, settings: s, container: id, device: device)
        }
    }

    /// A static address must be in the subnet, not the gateway, and not leased to another NIC.
    /// - Throws: `SysboxError` naming the device and, for a taken address, the holder.
    func checkStatic(_ db: Database, _ wanted: IPv4Address, network net: NetworkRecord, settings s: NetworkSettings,
                     container id: Int64?, device: String) throws {
        let holder = try IPv4LeaseRecord.filter(Column("network_id") == net.id && Column("address") == wanted.description).fetchOne(db)
        let other = holder.flatMap { $0.containerId == id && $0.deviceName == device ? nil : $0 }
        let holderName = try other.map { h in "\(try ContainerRecord.fetchOne(db, key: h.containerId)?.name ?? "?") (\(h.deviceName))" }
        do {
            try IPAM.checkStatic(wanted, in: s.subnet, gateway: s.gateway, heldBy: holderName)
        } catch let e as SysboxError {
            throw SysboxError(e.code, "device \(device): ipv4.address \(e.message)")
        }
    }

    /// Networks a container holds leases on.
    func leasedNetworks(_ db: Database, container id: Int64) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT DISTINCT n.name FROM ipv4_leases l JOIN networks n ON n.id = l.network_id WHERE l.container_id = ?", arguments: [id]))
    }

    /// The addresses of a container's NICs, "10.0.3.2 (eth0)", from its leases.
    func leasedAddresses(_ db: Database, container id: Int64) throws -> [String] {
        try Row.fetchAll(db, sql: "SELECT address, device_name FROM ipv4_leases WHERE container_id = ? ORDER BY device_name", arguments: [id])
            .map { "\($0["address"] as String) (\($0["device_name"] as String))" }
    }

    /// The NICs of a container with their leases and, while it runs, the counters of their host ends.
    public func nicStates(_ name: String) throws -> [NicState] {
        let view = try containerView(name)
        let leases = try read { db in
            try IPv4LeaseRecord.filter(Column("container_id") == view.record.id).fetchAll(db)
        }
        let links = view.status == .running ? ((try? HostNetwork.netlink().links()) ?? []) : []
        return Self.nicDevices(view.expanded.devices).map { device, d in
            let hostName = view.local.config["volatile.\(device).host_name"] ?? ""
            let link = links.first { $0.name == hostName }
            return NicState(device: device, name: d["name"] ?? device, network: d["network"] ?? "", hostName: hostName,
                            hwaddr: d["hwaddr"] ?? view.local.config["volatile.\(device).hwaddr"] ?? "",
                            address: leases.first { $0.deviceName == device }?.address ?? "",
                            rxBytes: link?.stats?.txBytes, txBytes: link?.stats?.rxBytes)
        }
    }
}

/// Attaching and detaching NICs (in the monitor, between clone and the release of init).
enum NICAttach {
    static func mac(_ text: String) -> [UInt8] {
        text.split(separator: ":").compactMap { UInt8($0, radix: 16) }
    }

    /// For each NIC: one RTM_NEWLINK creating the veth pair, host end up and enslaved to the bridge,
    /// peer created inside the network namespace of `pid` with its name and MAC; then, on a thread
    /// inside that namespace: lo up, each NIC up with its address, the default route. A host end left
    /// over from the previous boot (its namespace still being torn down) is deleted and the create
    /// retried.
    static func attach(_ nics: [StartPlan.Nic], pid: Int32) throws {
        guard !nics.isEmpty else { return }
        try HostNetwork.kernel("attaching the container's NICs") {
            let nl = try HostNetwork.netlink()
            for nic in nics {
                guard let bridge = try nl.link(named: nic.bridge) else {
                    throw SysboxError(.io, "device \(nic.device): the bridge of network \(nic.bridge) is missing; start the container again to recreate it")
                }
                var attempts = 0
                while true {
                    do {
                        try nl.createVeth(nic.hostName, peer: nic.name, peerNamespacePid: pid, peerMAC: mac(nic.hwaddr),
                                          masterIndex: bridge.index, up: true, mtu: nil)
                        break
                    } catch let e as NetlinkError where e.errno == EEXIST && attempts < 100 {
                        attempts += 1
                        if let old = try nl.link(named: nic.hostName), old.kind == "veth", old.master == nil || old.master == bridge.index {
                            try nl.deleteLink(nic.hostName)
                        } else {
                            usleep(20_000)
                        }
                    }
                }
            }
            try NetworkNamespace.run(pid: pid) { nl in
                try nl.setUp("lo")
                for nic in nics {
                    guard let link = try nl.link(named: nic.name) else { throw NetlinkError(operation: "find \(nic.name) in the container", errno: ENODEV) }
                    try nl.setUp(index: link.index, true)
                    guard let address = IPv4Address(nic.address), let gateway = IPv4Address(nic.gateway) else { continue }
                    try nl.addAddress(index: link.index, address.octets, prefix: UInt8(nic.prefix))
                    if nic.defaultRoute { try nl.addDefaultRoute(via: gateway.octets, index: link.index) }
                }
            }
        }
    }

    /// Deletes the host ends that still exist (normally they vanish with the container's namespace).
    static func detach(_ nics: [StartPlan.Nic]) {
        guard !nics.isEmpty, let nl = try? HostNetwork.netlink() else { return }
        for nic in nics {
            if let link = try? nl.link(named: nic.hostName), link.kind == "veth" { try? nl.deleteLink(nic.hostName) }
        }
    }
}
