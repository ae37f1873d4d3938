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
        /// The owner alias the bridge must carry: a NIC never joins a bridge of the same name that
        /// another state directory (or someone else) made since.
        public var bridgeAlias: String?
        /// `security.mac_filtering`: frames with another source MAC are dropped (BridgeFilters).
        public var macFiltering: Bool? = nil
        /// `security.ipv4_filtering`: frames with another IPv4 source address are dropped, and other
        /// MACs as well (BridgeFilters).
        public var ipv4Filtering: Bool? = nil
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
    /// Packets received and sent by the container (swapped likewise).
    public var rxPackets: UInt64? = nil, txPackets: UInt64? = nil
}

struct NICs: StateBound {
    let state: State

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
        SysboxError.notFound(
            "device \(device): network \(network) does not exist; create it (sysbox network create \(network)) or point the NIC at another one (sysbox config device set \(name) \(device) network=NAME)"
        )
    }

    /// Prepares the NICs of a container about to start: the default network is created on first use,
    /// every NIC gets its lease (stable: the same address at every start; a static `ipv4.address` is
    /// checked against the other leases and static addresses; a dynamic one avoids both), its MAC
    /// (unique on the network) and host-side name (kept in `volatile.*`), all in one transaction; then
    /// each network is brought up on the host. The transaction and the bring-up hold the host-wide
    /// network lock, so a concurrent `network set` or `delete` sees either none of it or all of it.
    /// - Throws: `SysboxError` naming the device: missing network, taken address or MAC, full subnet.
    func prepareNICs(_ name: String, devices: DeviceMap) throws -> [StartPlan.Nic] {
        let nics = Self.nicDevices(devices)
        // No NIC and nothing leased: nothing to do, no lock, no transaction.
        if nics.isEmpty, try read({ db in try IPv4LeaseRecord.count(containerNamed: name, in: db) }) == 0 {
            return []
        }
        try checkNetworksExist(nics, container: name)
        return try HostNetwork.withHostLock {
            var plans: [StartPlan.Nic] = []
            var previous: Set<String> = []
            try write { db in
                let record = try container(db, name)
                let id = try record.requireID()
                previous = try leasedNetworks(db, container: id)
                let storedConfig = try ConfigTable.containers.load(db, owner: id)
                var config = storedConfig
                for (index, (device, d)) in nics.enumerated() {
                    plans.append(try lease(db, device: device, d, container: name, id: id, config: &config, defaultRoute: index == 0))
                }
                try dropStaleLeases(db, container: id, kept: plans.map(\.device), config: &config)
                for key in Set(config.keys).union(storedConfig.keys) where config[key] != storedConfig[key] {
                    try ConfigTable.containers.set(db, owner: id, key: key, value: config[key])
                }
            }
            let networks = Set(plans.map(\.bridge))
            for network in networks.sorted() { try self.networks.bringUp(network, locked: true) }
            // Networks the container left: its name and reservation go from their dnsmasq.
            self.networks.syncDNSLocked(previous.subtracting(networks))
            return plans
        }
    }

    /// Every NIC's network must exist (but the default one, made here on first use) before anything is
    /// created.
    private func checkNetworksExist(_ nics: [(String, [String: String])], container name: String) throws {
        let (known, standard) = try read { db in (Set(try NetworkRecord.allNames(in: db)), try networks.defaultNetwork(db)) }
        for (device, d) in nics {
            let network = d["network"] ?? ""
            if network != standard && !known.contains(network) {
                throw Self.missingNetwork(device: device, network: network, container: name)
            }
        }
        if nics.contains(where: { $0.1["network"] == standard }) { try networks.ensureDefaultNetwork() }
    }

    /// One NIC's MAC (unique on its network), host-side name and lease (kept from the last start when it
    /// still fits; a static address checked; else the next free one), with its `volatile.*` keys in
    /// `config`. Writes the lease only when something changed.
    private func lease(
        _ db: Database, device: String, _ d: [String: String], container name: String, id: Int64,
        config: inout [String: String], defaultRoute: Bool
    ) throws -> StartPlan.Nic {
        let networkName = d["network"] ?? ""
        guard let net = try NetworkRecord.named(networkName, in: db) else {
            throw Self.missingNetwork(device: device, network: networkName, container: name)
        }
        let netID = try net.requireID()
        let s = try networks.settings(db, net)
        let macs = try usedMACs(db, network: net, except: id, device: device)
        var mac = (d["hwaddr"] ?? config["volatile.\(device).hwaddr"] ?? Self.randomMAC()).lowercased()
        if let holder = macs[mac] {
            guard d["hwaddr"] == nil else {
                throw SysboxError(.inUse, "device \(device): hwaddr \(mac) is already used by \(holder) on network \(networkName); give another one or unset it")
            }
            while macs[mac] != nil { mac = Self.randomMAC() }
        }
        if d["hwaddr"] == nil { config["volatile.\(device).hwaddr"] = mac }
        let hostName = config["volatile.\(device).host_name"] ?? Self.randomHostName()
        config["volatile.\(device).host_name"] = hostName
        let existing = try IPv4LeaseRecord.forDevice(device, container: id, in: db)
        let reserved = try staticReservations(db, network: net, except: id, device: device)
        var address: IPv4Address
        if let text = d["ipv4.address"], let wanted = IPv4Address(text) {
            try checkStatic(db, wanted, network: net, settings: s, container: id, device: device)
            address = wanted
        } else if let existing, existing.networkId == netID, let a = IPv4Address(existing.address),
            s.subnet.hosts?.contains(a.value) == true, a != s.gateway, !existing.isStatic, reserved[a] == nil
        {
            address = a
        } else {
            let leased = try IPv4LeaseRecord.addresses(network: netID, exceptContainer: id, device: device, in: db).compactMap(IPv4Address.init)
            do {
                address = try IPAM.nextFree(in: s.subnet, gateway: s.gateway, taken: Set(leased).union(reserved.keys))
            } catch let e as SysboxError {
                throw e.wrapped("device \(device): \(e.message)")
            }
        }
        // Written only when something changed: a restart with the same lease dirties no page (and costs
        // no fsync).
        let isStatic = d["ipv4.address"] != nil
        if existing?.networkId != netID || existing?.address != address.description || existing?.hwaddr != mac || existing?.isStatic != isStatic {
            try IPv4LeaseRecord.delete(container: id, device: device, in: db)
            var lease = IPv4LeaseRecord(
                networkId: netID, address: address.description, containerId: id, deviceName: device,
                hwaddr: mac, isStatic: isStatic, createdAt: existing?.createdAt ?? Date())
            try lease.insert(db)
        }
        return StartPlan.Nic(
            device: device, name: d["name"] ?? device, hostName: hostName, hwaddr: mac,
            address: address.description, prefix: s.subnet.prefix, gateway: s.gateway.description,
            bridge: networkName, defaultRoute: defaultRoute, bridgeAlias: HostNetwork.ownerAlias(stateDirectory),
            macFiltering: Self.flag(d["security.mac_filtering"]), ipv4Filtering: Self.flag(d["security.ipv4_filtering"]))
    }

    /// A boolean device key: true, or nil when unset or false (left out of the plan).
    static func flag(_ value: String?) -> Bool? {
        value.flatMap { try? Values.bool($0) } == true ? true : nil
    }

    /// Leases of devices that are no longer NICs go, and so do their `volatile.*` keys.
    private func dropStaleLeases(_ db: Database, container id: Int64, kept: [String], config: inout [String: String]) throws {
        try IPv4LeaseRecord.deleteStale(container: id, keeping: kept, in: db)
        for key in config.keys where key.hasPrefix("volatile.") {
            // Device names may contain dots (eth0.100): strip the known suffix, not at a dot.
            guard let suffix = [".hwaddr", ".host_name"].first(where: key.hasSuffix) else { continue }
            let device = String(key.dropFirst("volatile.".count).dropLast(suffix.count))
            if !kept.contains(device) { config[key] = nil }
        }
    }

    /// MACs of the other NICs with a lease on the network: MAC → "container (device)".
    func usedMACs(_ db: Database, network net: NetworkRecord, except id: Int64, device: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for lease in try NetworkLease.all(network: try net.requireID(), except: (id, device), in: db) {
            out[lease.hwaddr.lowercased()] = "\(lease.container) (\(lease.device))"
        }
        return out
    }

    /// Static addresses that containers' own NICs on the network declare (whether they have started
    /// or not), but NIC `device` of container `id`: address → "container (device)". Dynamic leases
    /// avoid them, and a second static claim is refused.
    func staticReservations(_ db: Database, network net: NetworkRecord, except id: Int64?, device: String) throws -> [IPv4Address: String] {
        var out: [IPv4Address: String] = [:]
        // A container's own NIC first, then those its profiles declare (reserved for each container that
        // uses the profile; a container that overrides the device locally is covered by the first part).
        for claim in try StaticAddressClaim.all(network: net.name, in: db) {
            if claim.containerId == id && claim.device == device { continue }
            if let a = IPv4Address(claim.address), out[a] == nil { out[a] = "\(claim.container) (\(claim.device))" }
        }
        return out
    }

    /// Checks the static `ipv4.address` of every NIC of a (new) expansion against the leases and the
    /// static addresses of other containers, so that `config device set` refuses a taken address at
    /// once (naming the holder).
    func checkStaticAddresses(_ db: Database, container id: Int64?, devices: DeviceMap) throws {
        for (device, d) in Self.nicDevices(devices) {
            guard let text = d["ipv4.address"], let wanted = IPv4Address(text),
                let net = try NetworkRecord.named(d["network"] ?? "", in: db),
                let s = try? networks.settings(db, net)
            else { continue }
            try checkStatic(db, wanted, network: net, settings: s, container: id, device: device)
        }
    }

    /// Refuses NICs on networks that do not exist (but the default network, made on first use).
    func checkNICNetworks(_ db: Database, devices: DeviceMap) throws {
        let standard = try networks.defaultNetwork(db)
        for (device, d) in Self.nicDevices(devices) {
            let network = d["network"] ?? ""
            if network == standard { continue }
            if try NetworkRecord.named(network, in: db) == nil {
                let names = try NetworkRecord.allNames(in: db)
                throw SysboxError.notFound(
                    "device \(device): network \(network) does not exist\(Suggest.hint(network, names, then: "create it first: sysbox network create \(network)"))")
            }
        }
    }

    /// A static address must be a host address of the subnet, not the gateway, and not leased to or
    /// declared by another NIC.
    /// - Throws: `SysboxError` naming the device and, for a taken address, the holder.
    func checkStatic(
        _ db: Database, _ wanted: IPv4Address, network net: NetworkRecord, settings s: NetworkSettings,
        container id: Int64?, device: String
    ) throws {
        let holder = try IPv4LeaseRecord.filter(Column("network_id") == net.id && Column("address") == wanted.description).fetchOne(db)
        let other = holder.flatMap { $0.containerId == id && $0.deviceName == device ? nil : $0 }
        var holderName = try other.map { h in "\(try ContainerRecord.fetchOne(db, key: h.containerId)?.name ?? "?") (\(h.deviceName))" }
        if holderName == nil { holderName = try staticReservations(db, network: net, except: id, device: device)[wanted] }
        do {
            try IPAM.checkStatic(wanted, in: s.subnet, gateway: s.gateway, heldBy: holderName)
        } catch let e as SysboxError {
            throw e.wrapped("device \(device): ipv4.address \(e.message)")
        }
    }

    /// Networks a container holds leases on.
    func leasedNetworks(_ db: Database, container id: Int64) throws -> Set<String> {
        Set(try IPv4LeaseRecord.networkNames(container: id, in: db))
    }

    /// The addresses of a container's NICs, "10.0.3.2 (eth0)", from its leases.
    func leasedAddresses(_ db: Database, container id: Int64) throws -> [String] {
        try IPv4LeaseRecord.forContainer(id, in: db).map(Self.leaseText)
    }

    /// "ADDRESS (DEVICE)" of an ipv4_leases row, as `list` and `info` show it.
    static func leaseText(_ lease: IPv4LeaseRecord) -> String { "\(lease.address) (\(lease.deviceName))" }

    /// The NICs of a container with their leases and, while it runs, the counters of their host ends.
    public func nicStates(_ name: String) throws -> [NicState] {
        let view = try containers.containerView(name)
        let leases = try read { db in
            try IPv4LeaseRecord.forContainer(try view.record.requireID(), in: db)
        }
        let links = view.status.isLive ? ((try? HostNetwork.netlink().links()) ?? []) : []
        return Self.nicDevices(view.expanded.devices).map { device, d in
            let hostName = view.local.config["volatile.\(device).host_name"] ?? ""
            let link = links.first { $0.name == hostName }
            return NicState(
                device: device, name: d["name"] ?? device, network: d["network"] ?? "", hostName: hostName,
                hwaddr: d["hwaddr"] ?? view.local.config["volatile.\(device).hwaddr"] ?? "",
                address: leases.first { $0.deviceName == device }?.address ?? "",
                rxBytes: link?.stats?.txBytes, txBytes: link?.stats?.rxBytes, rxPackets: link?.stats?.txPackets, txPackets: link?.stats?.rxPackets)
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
                guard bridge.kind == "bridge", nic.bridgeAlias == nil || bridge.alias == nic.bridgeAlias else {
                    throw SysboxError(
                        .conflict,
                        "device \(nic.device): the interface \(nic.bridge) on this host is not this network's bridge any more (\(HostNetwork.ownerDescription(bridge))); the NIC was not attached"
                    )
                }
                var attempts = 0
                while true {
                    do {
                        try nl.createVeth(
                            nic.hostName, peer: nic.name, peerNamespacePid: pid, peerMAC: mac(nic.hwaddr),
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

    /// Deletes the host ends that still exist (normally they vanish with the container's namespace),
    /// and the NICs' bridge filters.
    static func detach(_ nics: [StartPlan.Nic]) {
        BridgeFilters.remove(nics)
        guard !nics.isEmpty, let nl = try? HostNetwork.netlink() else { return }
        for nic in nics {
            if let link = try? nl.link(named: nic.hostName), link.kind == "veth" { try? nl.deleteLink(nic.hostName) }
        }
    }
}
