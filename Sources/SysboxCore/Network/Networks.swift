import Foundation
import GRDB
import SysboxStore

/// A managed network as `network list` shows it.
public struct NetworkEntry: Encodable, Sendable {
    public var name: String
    public var type: String
    public var managed: Bool
    public var ipv4: String
    public var nat: Bool
    public var description: String
    public var usedBy: [String]
    /// Whether its bridge exists on this host now (UP), or not (DOWN: recreated at the next start).
    public var state: String

    enum CodingKeys: String, CodingKey {
        case name, type, managed, ipv4, nat, description, state
        case usedBy = "used_by"
    }
}

/// One IPv4 lease of a network (`network list-leases`).
public struct LeaseEntry: Encodable, Sendable, Equatable {
    public var hostname: String
    public var device: String
    public var hwaddr: String
    public var address: String
    public var type: String
}

struct Networks: StateBound {
    let state: State

    /// The default network: the default profile's `eth0` names it, and it is created on first use.
    /// The default network's name when `SYSBOX_DEFAULT_NETWORK` was not set at a state directory's first
    /// use (LXD: lxdbr0).
    public static let standardDefaultNetwork = "sysboxbr0"
    /// The settings key holding this state directory's default network (see `Profiles.seedShipped`).
    static let defaultNetworkKey = "network.default"

    /// The network the shipped default profile's eth0 uses, created the first time a container needs
    /// it: `SYSBOX_DEFAULT_NETWORK` at the state directory's first use, else sysboxbr0.
    func defaultNetwork(_ db: Database) throws -> String {
        try Settings.get(db, Self.defaultNetworkKey) ?? Self.standardDefaultNetwork
    }

    func network(_ db: Database, _ name: String) throws -> NetworkRecord {
        if let record = try NetworkRecord.named(name, in: db) { return record }
        let names = try NetworkRecord.allNames(in: db)
        throw SysboxError.notFound(
            "network \(name) not found\(Suggest.hint(name, names, then: "run sysbox network list to see the networks; create one with sysbox network create \(name)"))")
    }

    func settings(_ db: Database, _ record: NetworkRecord) throws -> NetworkSettings {
        try NetworkSettings(name: record.name, config: try ConfigTable.networks.load(db, owner: try record.requireID()))
    }

    /// Containers (by their expanded devices, or, while they run or start, by their leases: what is
    /// attached until the next start) and profiles whose NICs name the network, sorted.
    func networkUsers(_ db: Database, _ name: String, probeLocks: Bool = true) throws -> [String] {
        var users: [String] = []
        let leased = try IPv4LeaseRecord.containerIDs(networkNamed: name, in: db)
        for record in try ContainerRecord.order(Column("name")).fetchAll(db) {
            let id = try record.requireID()
            let profiles = try ContainerProfiles.load(db, container: id)
            let expanded = try self.expanded(db, profiles: profiles, local: try layer(db, container: id))
            if expanded.devices.values.contains(where: { $0["type"] == "nic" && $0["network"] == name })
                || (leased.contains(id) && (probeLocks ? isActive(record.name) : runtime.runtimeStatus(record.name).0 != .stopped))
            {
                users.append("container \(record.name)")
            }
        }
        for record in try ProfileRecord.order(Column("name")).fetchAll(db) {
            let devices = try DeviceTable.profiles.load(db, owner: try record.requireID())
            if devices.values.contains(where: { $0["type"] == "nic" && $0["network"] == name }) {
                users.append("profile \(record.name)")
            }
        }
        return users
    }

    /// Resolves `ipv4.address=auto` to a free /24 (checked against the host's routes and addresses and
    /// this state directory's other networks) and checks that a given subnet overlaps none of them.
    func resolveAddress(_ db: Database, network name: String, _ value: String) throws -> String {
        let others = try NetworkRecord.fetchAll(db).filter { $0.name != name }.compactMap { r -> (String, IPv4Subnet)? in
            guard let s = try? settings(db, r) else { return nil }
            return (r.name, s.subnet)
        }
        let host = try HostNetwork.hostSubnets(excludingBridge: name)
        if value == "auto" {
            guard let subnet = IPAM.freeSubnet(avoiding: host.map(\.subnet) + others.map(\.1)) else {
                throw SysboxError(.inUse, "no free /24 left in 10.0.0.0/8 on this host; give the network a subnet: ipv4.address=192.168.X.1/24")
            }
            return "\(IPv4Address(subnet.network.value + 1))/\(subnet.prefix)"
        }
        let (_, subnet) = try NetworkConfig.gatewayCIDR(value)
        if let other = others.first(where: { $0.1.overlaps(subnet) }) {
            throw SysboxError(.conflict, "ipv4.address \(value) overlaps network \(other.0) (\(other.1)); choose another subnet or ipv4.address=auto")
        }
        if let used = host.first(where: { $0.subnet.overlaps(subnet) && $0.subnet.prefix > 0 }) {
            throw SysboxError(.conflict, "ipv4.address \(value) overlaps \(used.subnet) on the host (\(used.what)); choose another subnet or ipv4.address=auto")
        }
        return value
    }

    /// Sets the network's description (`network set NAME --property description=…`, LXD's).
    /// - Throws: `SysboxError(.invalidArgument)` for a bad description; `.notFound` for no such network.
    public func setNetworkDescription(_ name: String, _ description: String) throws {
        try Names.validateDescription(description, of: "network \(name)")
        try write { db in
            var record = try network(db, name)
            record.description = description
            try record.update(db)
        }
    }

    /// Creates a managed network and brings it up on the host: the bridge, its address, NAT rules and
    /// dnsmasq (`ipv4.address` defaults to auto).
    public func createNetwork(_ name: String, config pairs: [(String, String)], description: String = "") throws {
        try Names.validate(name, as: .network)
        try Names.validateDescription(description, of: "network \(name)")
        try refuseDuplicates(pairs.map(\.0), what: "key")
        for (key, value) in pairs { try NetworkConfig.validate(key, value) }
        var config = Dictionary(pairs, uniquingKeysWith: { _, b in b })
        try HostNetwork.withHostLock {
            try write { db in
                if try NetworkRecord.named(name, in: db) != nil {
                    throw SysboxError(.alreadyExists, "network \(name) already exists; pick another name (sysbox network list shows them)")
                }
                try HostNetwork.checkNameFree(name, stateDirectory: stateDirectory)
                config["ipv4.address"] = try resolveAddress(db, network: name, config["ipv4.address"] ?? "auto")
                var record = NetworkRecord(name: name, description: description)
                try record.insert(db)
                try ConfigTable.networks.replace(db, owner: try record.requireID(), with: config)
            }
            do {
                try bringUp(name, locked: true)
            } catch {
                try? HostNetwork.tearDown(name, stateDirectory: stateDirectory)
                try? write { db in _ = try NetworkRecord.filter(Column("name") == name).deleteAll(db) }
                throw error
            }
        }
    }

    /// Creates the default network the first time a container needs it.
    func ensureDefaultNetwork() throws {
        let name = try read { db in try defaultNetwork(db) }
        func exists() throws -> Bool {
            try read { db in try NetworkRecord.named(name, in: db) } != nil
        }
        if try exists() { return }
        do {
            try createNetwork(name, config: [])
        } catch let e as SysboxError where e.code == .alreadyExists {
            if try exists() { return }  // another process of this state directory created it meanwhile
            throw SysboxError(
                .conflict,
                "the default network \(name) cannot be created here: \(e.message.replacingOccurrences(of: "; pick another network name", with: "")); create another network and use it: sysbox network create NAME && sysbox profile device set default eth0 network=NAME",
                cause: e)
        }
    }

    /// Brings the network up on the host (idempotent): after a host reboot, a crash, or a change.
    /// The database is read under the host lock, so the host always ends up with the newest settings
    /// and leases, whatever the order concurrent commands take the lock in.
    func bringUp(_ name: String, locked: Bool = false, force: Bool = false) throws {
        let work = {
            let (settings, hosts) = try self.read { db -> (NetworkSettings, [DNSMasq.Entry]) in
                let record = try self.network(db, name)
                return (try self.settings(db, record), try self.dnsHosts(db, record))
            }
            try HostNetwork.ensureUp(settings, stateDirectory: self.stateDirectory, hosts: hosts, force: force) { args in
                try self.launchNetworkMonitor(name, arguments: args)
            }
        }
        if locked { try work() } else { try HostNetwork.withHostLock(work) }
    }

    /// Every network with its users and whether its bridge exists.
    public func listNetworks() throws -> [NetworkEntry] {
        let links = Set(((try? HostNetwork.ownedBridges(stateDirectory: stateDirectory)) ?? []))
        return try read { db in
            try NetworkRecord.order(Column("name")).fetchAll(db).map { r in
                let config = try ConfigTable.networks.load(db, owner: try r.requireID())
                return NetworkEntry(
                    name: r.name, type: r.type, managed: true, ipv4: config["ipv4.address"] ?? "",
                    nat: (try? Values.bool(config["ipv4.nat"] ?? "true")) ?? true, description: r.description,
                    usedBy: try networkUsers(db, r.name, probeLocks: false), state: links.contains(r.name) ? "UP" : "DOWN")
            }
        }
    }

    /// A network as YAML: name, description, type, config, used_by.
    public func networkDocument(_ name: String) throws -> String {
        try Names.validate(name, as: .network)
        return try read { db in
            let r = try network(db, name)
            let config = try ConfigTable.networks.load(db, owner: try r.requireID())
            let users = try networkUsers(db, name, probeLocks: false)
            return YAMLDocs.network(name: r.name, description: r.description, type: r.type, config: config, usedBy: users)
        }
    }

    /// The network's config (no defaults filled in).
    public func networkConfig(_ name: String) throws -> [String: String] {
        try Names.validate(name, as: .network)
        return try read { db in try ConfigTable.networks.load(db, owner: try network(db, name).requireID()) }
    }

    /// Sets network keys and applies them on the host. A new `ipv4.address` is refused while a
    /// container on the network runs; leases outside the new subnet are dropped (the containers get a
    /// new address at their next start).
    /// - Returns: notes for the user (what takes effect only at the containers' next start).
    @discardableResult
    public func setNetwork(_ name: String, _ pairs: [(String, String)]) throws -> [String] {
        try Names.validate(name, as: .network)
        try refuseDuplicates(pairs.map(\.0), what: "key")
        for (key, value) in pairs { try NetworkConfig.validate(key, value) }
        try changeNetwork(name) { db, config in
            for (key, value) in pairs {
                config[key] = key == "ipv4.address" ? try resolveAddress(db, network: name, value) : value
            }
        }
        return try domainNote(name, keys: pairs.map(\.0))
    }

    func domainNote(_ name: String, keys: [String]) throws -> [String] {
        guard keys.contains("dns.domain") else { return [] }
        let running = try read { db in try runningContainers(db, network: name) }
        guard !running.isEmpty else { return [] }
        return [
            "running containers on \(name) (\(running.joined(separator: ", "))) get the new dns.domain in /etc/resolv.conf at their next start (names already resolve under it)"
        ]
    }

    /// Unsets network keys (back to their defaults) and applies the change on the host.
    @discardableResult
    public func unsetNetwork(_ name: String, _ keys: [String]) throws -> [String] {
        try Names.validate(name, as: .network)
        try refuseDuplicates(keys, what: "key")
        for key in keys { try NetworkConfig.validateUnset(key) }
        try changeNetwork(name) { _, config in
            for key in keys {
                guard config.removeValue(forKey: key) != nil else {
                    throw SysboxError.invalid("\(key) is not set on network \(name); sysbox network show \(name) lists what is set")
                }
            }
        }
        return try domainNote(name, keys: keys)
    }

    private func changeNetwork(_ name: String, _ change: (Database, inout [String: String]) throws -> Void) throws {
        try HostNetwork.withHostLock {
            try write { db in
                let r = try network(db, name)
                var config = try ConfigTable.networks.load(db, owner: try r.requireID())
                let before = try NetworkSettings(name: name, config: config)
                try change(db, &config)
                let after = try NetworkSettings(name: name, config: config)
                if after.subnet != before.subnet || after.gateway != before.gateway {
                    let running = try runningContainers(db, network: name)
                    if !running.isEmpty {
                        throw SysboxError(.conflict, "network \(name) has running containers (\(running.joined(separator: ", "))); stop them before changing ipv4.address")
                    }
                    for record in try ContainerRecord.order(Column("name")).fetchAll(db) {
                        let profiles = try ContainerProfiles.load(db, container: try record.requireID())
                        let devices = try self.expanded(db, profiles: profiles, local: try layer(db, container: try record.requireID())).devices
                        for (device, d) in NICs.nicDevices(devices) where d["network"] == name {
                            guard let text = d["ipv4.address"], let a = IPv4Address(text) else { continue }
                            if after.subnet.hosts?.contains(a.value) != true || a == after.gateway {
                                throw SysboxError.invalid(
                                    "container \(record.name) device \(device) has the static ipv4.address \(a), which would not be a usable address of \(after.subnet); change or unset it first"
                                )
                            }
                        }
                    }
                    for lease in try IPv4LeaseRecord.filter(Column("network_id") == r.id).fetchAll(db) {
                        if let a = IPv4Address(lease.address), after.subnet.hosts?.contains(a.value) == true, a != after.gateway { continue }
                        _ = try lease.delete(db)
                    }
                }
                try ConfigTable.networks.replace(db, owner: try r.requireID(), with: config)
            }
            try bringUp(name, locked: true, force: true)
        }
    }

    func runningContainers(_ db: Database, network name: String) throws -> [String] {
        try networkUsers(db, name).filter { $0.hasPrefix("container ") }.map { String($0.dropFirst("container ".count)) }
            .filter(isActive)
    }

    /// Running, starting or stopping, or locked by a command (a start that has taken its leases but
    /// not launched its monitor yet).
    func isActive(_ name: String) -> Bool {
        if runtime.runtimeStatus(name).0 != .stopped { return true }
        guard let fd = tryLock(name) else { return true }
        close(fd)
        return false
    }

    /// Deletes networks: each must be unused (no container or profile names it); the bridge, its NAT
    /// rules and its dnsmasq go with it. Every name is checked before anything is deleted.
    public func deleteNetworks(_ names: [String]) throws {
        try refuseDuplicates(names, what: "network")
        for name in names { try Names.validate(name, as: .network) }
        try HostNetwork.withHostLock {
            try read { db in
                for name in names {
                    _ = try network(db, name)
                    let users = try networkUsers(db, name)
                    if !users.isEmpty {
                        // The commands for the kinds of users there are (issue 14: a profile was told to
                        // use a container command).
                        var fixes: [String] = []
                        if users.contains(where: { $0.hasPrefix("container ") }) {
                            fixes.append("sysbox config device remove CONTAINER DEVICE, sysbox config device set CONTAINER DEVICE network=OTHER")
                        }
                        if users.contains(where: { $0.hasPrefix("profile ") }) {
                            fixes.append("sysbox profile device remove PROFILE DEVICE, sysbox profile device set PROFILE DEVICE network=OTHER")
                        }
                        throw SysboxError(
                            .inUse, "network \(name) is in use by \(users.joined(separator: ", ")); remove or change their NICs first (\(fixes.joined(separator: "; ")))")
                    }
                }
            }
            // The host lock is held throughout (a start takes it to lease): the host side goes first, then
            // the record, so a kill in between leaves a record whose next use brings the network back.
            for name in names {
                try HostNetwork.tearDown(name, stateDirectory: stateDirectory)
                try write { db in _ = try NetworkRecord.filter(Column("name") == name).deleteAll(db) }
            }
        }
    }

    /// The network's leases: one per NIC that was started on it.
    public func networkLeases(_ name: String) throws -> [LeaseEntry] {
        try Names.validate(name, as: .network)
        return try read { db in
            let r = try network(db, name)
            return try NetworkLease.all(network: try r.requireID(), in: db).map { lease in
                LeaseEntry(
                    hostname: lease.container, device: lease.device, hwaddr: lease.hwaddr, address: lease.address,
                    type: lease.isStatic ? "STATIC" : "DYNAMIC")
            }.sorted { (IPv4Address($0.address)?.value ?? 0) < (IPv4Address($1.address)?.value ?? 0) }
        }
    }

    /// What dnsmasq serves for a network: every lease, by container name.
    func dnsHosts(_ db: Database, _ record: NetworkRecord) throws -> [DNSMasq.Entry] {
        try NetworkLease.all(network: try record.requireID(), in: db).map { lease in
            DNSMasq.Entry(container: lease.container, device: lease.device, hwaddr: lease.hwaddr, address: lease.address)
        }
    }

    /// Rewrites dnsmasq's host files of the networks `names` from the leases (dnsmasq rereads them).
    /// Best effort and brief (a monitor deleting an ephemeral container must not wait long): when the
    /// lock is busy, the next bring-up of the network rewrites every file from the leases anyway.
    func syncDNS(_ names: Set<String>) {
        guard !names.isEmpty else { return }
        try? HostNetwork.withHostLock(timeout: 2) { syncDNSLocked(names) }
    }

    func syncDNSLocked(_ names: Set<String>) {
        for name in names.sorted() {
            guard
                let found = try? read({ db -> (NetworkSettings, [DNSMasq.Entry])? in
                    guard let r = try NetworkRecord.named(name, in: db) else { return nil }
                    return (try settings(db, r), try dnsHosts(db, r))
                }), FileManager.default.fileExists(atPath: HostNetwork.directory(name)),
                HostNetwork.ownsRunDirectory(name, stateDirectory: stateDirectory)
            else { continue }
            try? DNSMasq.writeHosts(network: name, domain: found.0.domain, found.1)
        }
    }
}

extension Networks {
    /// Starts the network monitor that runs dnsmasq (`sysbox __network-monitor NAME`, detached) and waits
    /// until dnsmasq serves.
    func launchNetworkMonitor(_ name: String, arguments: [String]) throws {
        guard DNSMasq.program != nil else {
            throw SysboxError(.unsupported, "network \(name) needs dnsmasq for DHCP and DNS; install the Debian package dnsmasq-base")
        }
        _ = try DetachedProcess(state: state).launch(
            ["__network-monitor", name], log: HostNetwork.directory(name) + "/monitor.log",
            what: "the dnsmasq monitor of network \(name)")
    }

    /// A network's live state for `network info`: its bridge, addresses and counters, and dnsmasq.
    public func networkState(_ name: String) throws -> NetworkState {
        try Names.validate(name, as: .network)
        let settings = try read { db in try self.settings(db, try network(db, name)) }
        var state = NetworkState(name: name, subnet: settings.subnet.description, gateway: settings.gateway.description)
        try HostNetwork.kernel("reading network \(name)") {
            let nl = try HostNetwork.netlink()
            guard let link = try nl.link(named: name), link.alias == HostNetwork.ownerAlias(stateDirectory) else { return }
            state.up = link.isUp
            state.mtu = link.mtu
            state.hwaddr = link.mac.map { $0.map { String(format: "%02x", $0) }.joined(separator: ":") }
            state.addresses = try nl.addresses().filter { $0.index == link.index }.map { a in
                "\(a.address.map(String.init).joined(separator: "."))/\(a.prefix)"
            }
            state.rxBytes = link.stats?.rxBytes
            state.txBytes = link.stats?.txBytes
            state.rxPackets = link.stats?.rxPackets
            state.txPackets = link.stats?.txPackets
            state.ports = try nl.links().filter { $0.master == link.index }.map(\.name).sorted()
        }
        state.dnsmasqPid = HostNetwork.ownsRunDirectory(name, stateDirectory: stateDirectory) ? DNSMasq.dnsmasqPid(name) : nil
        return state
    }
}

/// What `network info` shows.
public struct NetworkState: Encodable, Sendable {
    public var name: String
    public var subnet: String
    public var gateway: String
    public var up = false
    public var mtu: UInt32?
    public var hwaddr: String?
    public var addresses: [String] = []
    public var rxBytes: UInt64?
    public var txBytes: UInt64?
    public var rxPackets: UInt64?
    public var txPackets: UInt64?
    public var ports: [String] = []
    public var dnsmasqPid: Int32?

    init(name: String, subnet: String, gateway: String) {
        self.name = name
        self.subnet = subnet
        self.gateway = gateway
    }
}
