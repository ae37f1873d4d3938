import Foundation
import GRDB
import SysboxStore

struct ConfigEditor: StateBound {
    let state: State

    /// Loads the owner's own layer, lets `change` edit it, validates the result and everything that
    /// depends on it (a container's expansion; every container using a profile), then writes it back —
    /// all in one transaction, so a failed check changes nothing.
    func edit(_ owner: ConfigOwner, _ change: (inout ConfigLayer, EditContext) throws -> Void) throws {
        try owner.validateName()
        var affected: [String] = []
        defer { for name in affected { try? execs.writeExecCache(name) } }
        try write { db in
            let before = try liveConfig.liveLimits(db, affectedBy: owner)
            affected = before.map(\.0)
            switch owner {
            case let .container(name):
                let record = try container(db, name)
                let id = try record.requireID()
                let profiles = try ContainerProfiles.load(db, container: id)
                var context = EditContext()
                for p in profiles {
                    let l = try layer(db, profile: try p.requireID())
                    for device in l.devices.keys { context.inheritedDevices[device] = p.name }
                }
                context.inherited = try expanded(db, profiles: profiles, local: ConfigLayer())
                var local = try layer(db, container: id)
                let old = local
                try change(&local, context)
                try checkAgainstHost(old: old, new: local)
                let expandedLayer = Expansion.expand(profiles: [context.inherited], local: local)
                let before = Expansion.expand(profiles: [context.inherited], local: old).devices
                try validateExpanded(expandedLayer, container: name)
                try nics.checkNICNetworks(db, devices: local.devices.filter { old.devices[$0.key] != $0.value })
                // Only what this change touches: an older conflict elsewhere does not block it.
                try nics.checkStaticAddresses(db, container: id, devices: expandedLayer.devices.filter { before[$0.key] != $0.value })
                try ConfigTable.containers.replace(db, owner: id, with: local.config)
                try DeviceTable.containers.replace(db, owner: id, with: local.devices)
            case let .profile(name):
                let record = try profile(db, name)
                var updated = try layer(db, profile: try record.requireID())
                let old = updated
                try change(&updated, EditContext())
                try checkAgainstHost(old: old, new: updated)
                try nics.checkNICNetworks(db, devices: updated.devices.filter { old.devices[$0.key] != $0.value })
                try validateProfileChange(db, profile: record, layer: updated, changed: Set(updated.devices.keys.filter { old.devices[$0] != updated.devices[$0] }))
                try ConfigTable.profiles.replace(db, owner: try record.requireID(), with: updated.config)
                try DeviceTable.profiles.replace(db, owner: try record.requireID(), with: updated.devices)
            }
            try liveConfig.applyLiveLimits(db, before: before)
        }
    }

    /// What only this host can tell, for what a change adds or modifies: a disk's source must exist and
    /// `limits.cpu` must fit the host's CPUs (LXD refuses both when they are set, not at the next start).
    func checkAgainstHost(old: ConfigLayer, new: ConfigLayer) throws {
        for (name, device) in new.devices.sorted(by: { $0.key < $1.key }) where old.devices[name] != device {
            if device["type"] == "disk", let source = device["source"], !FileManager.default.fileExists(atPath: source) {
                throw SysboxError.invalid("device \(name): source \(source) does not exist on this host; create it first or fix the path")
            }
        }
        if let cpu = new.config["limits.cpu"], cpu != old.config["limits.cpu"] {
            let online = ContainerCgroup.onlineCPUs()
            guard !online.isEmpty else { return }
            switch try? Values.cpu(cpu) {
            case let .count(n)? where n > online.count:
                throw SysboxError.invalid("limits.cpu=\(cpu) asks for more CPUs than this host has (\(online.count)); use at most \(online.count)")
            case let .set(ids)? where !Set(ids).isSubset(of: online):
                throw SysboxError.invalid("limits.cpu=\(cpu) names CPUs this host does not have (online: \(CgroupLimits.cpuList(online)))")
            default:
                break
            }
        }
    }

    /// Checks a profile's new layer on its own and in the expansion of every container that uses it.
    func validateProfileChange(_ db: Database, profile record: ProfileRecord, layer updated: ConfigLayer, changed: Set<String> = []) throws {
        do {
            try Devices.validateSet(updated.devices, requireRoot: false)
        } catch let error as SysboxError {
            throw SysboxError.invalid("profile \(record.name): \(error.message)", cause: error)
        }
        for user in try ContainerProfiles.users(db, profile: try record.requireID()) {
            let c = try container(db, user)
            let layers = try ContainerProfiles.load(db, container: try c.requireID()).map { p in
                p.id == record.id ? updated : try layer(db, profile: try p.requireID())
            }
            let result = Expansion.expand(profiles: layers, local: try layer(db, container: try c.requireID()))
            do {
                try Devices.validateSet(result.devices, requireRoot: true)
                try nics.checkStaticAddresses(db, container: c.id, devices: result.devices.filter { changed.contains($0.key) })
            } catch let error as SysboxError {
                throw error.wrapped("profile \(record.name) cannot change this way: it would break container \(user): \(error.message)")
            }
        }
    }

    /// The owner's own layer, or for a container with `expanded`, its expansion.
    public func layer(of owner: ConfigOwner, expanded wantExpanded: Bool = false) throws -> ConfigLayer {
        try owner.validateName()
        return try read { db in
            switch owner {
            case let .container(name):
                let record = try container(db, name)
                let local = try layer(db, container: try record.requireID())
                guard wantExpanded else { return local }
                return try expanded(db, profiles: try ContainerProfiles.load(db, container: try record.requireID()), local: local)
            case let .profile(name):
                return try layer(db, profile: try profile(db, name).requireID())
            }
        }
    }

    /// Sets config keys (all validated first; `volatile.*` refused).
    public func setConfig(_ owner: ConfigOwner, _ pairs: [(String, String)]) throws {
        guard !pairs.isEmpty else { throw SysboxError.invalid("nothing to set: give KEY=VALUE") }
        for (key, value) in pairs { try InstanceConfig.validate(key, value, writer: .user) }
        try refuseDuplicates(pairs.map(\.0), what: "key")
        try edit(owner) { layer, _ in
            for (key, value) in pairs { layer.config[key] = value }
        }
    }

    /// Removes config keys; each must be set on the owner itself.
    public func unsetConfig(_ owner: ConfigOwner, _ keys: [String]) throws {
        guard !keys.isEmpty else { throw SysboxError.invalid("nothing to unset: give a KEY") }
        for key in keys { try InstanceConfig.validateUnset(key, writer: .user) }
        try refuseDuplicates(keys, what: "key")
        try edit(owner) { layer, _ in
            for key in keys {
                guard layer.config.removeValue(forKey: key) != nil else {
                    throw SysboxError.invalid("\(key) is not set on \(owner); nothing to unset")
                }
            }
        }
    }

    /// Adds a device (`config` includes `type`).
    public func addDevice(_ owner: ConfigOwner, name: String, _ config: [String: String]) throws {
        try Devices.validate(name: name, config)
        try edit(owner) { layer, context in
            if layer.devices[name] != nil {
                throw SysboxError(
                    .alreadyExists,
                    "device \(name) already exists on \(owner); change it with: \(owner.command) device set \(owner.name) \(name) KEY=VALUE, or remove it first: \(owner.command) device remove \(owner.name) \(name)"
                )
            }
            layer.devices[name] = config
        }
    }

    /// Removes devices of the owner's own layer. A container's device that comes from a profile cannot
    /// be removed this way; the error says how to mask it.
    public func removeDevices(_ owner: ConfigOwner, names: [String]) throws {
        guard !names.isEmpty else { throw SysboxError.invalid("nothing to remove: give a device name") }
        for name in names { try Names.validate(name, as: .device) }
        try refuseDuplicates(names, what: "device")
        try edit(owner) { layer, context in
            for name in names where layer.devices.removeValue(forKey: name) == nil {
                throw deviceNotFound(name, owner, context)
            }
        }
    }

    /// Sets keys on one of the owner's own devices.
    public func setDevice(_ owner: ConfigOwner, name: String, _ pairs: [(String, String)]) throws {
        guard !pairs.isEmpty else { throw SysboxError.invalid("nothing to set: give KEY=VALUE") }
        try Names.validate(name, as: .device)
        try refuseDuplicates(pairs.map(\.0), what: "key")
        try edit(owner) { layer, context in
            guard var device = layer.devices[name] else { throw deviceNotFound(name, owner, context) }
            for (key, value) in pairs {
                guard key != "type" else {
                    throw SysboxError.invalid("the type of device \(name) cannot be changed; remove it and add a new one")
                }
                device[key] = value
            }
            try Devices.validate(name: name, device)
            layer.devices[name] = device
        }
    }

    /// Removes keys from one of the owner's own devices.
    public func unsetDevice(_ owner: ConfigOwner, name: String, keys: [String]) throws {
        guard !keys.isEmpty else { throw SysboxError.invalid("nothing to unset: give a KEY") }
        try Names.validate(name, as: .device)
        try refuseDuplicates(keys, what: "key")
        try edit(owner) { layer, context in
            guard var device = layer.devices[name] else { throw deviceNotFound(name, owner, context) }
            for key in keys {
                guard key != "type" else { throw SysboxError.invalid("the type of device \(name) cannot be unset") }
                guard device.removeValue(forKey: key) != nil else {
                    throw SysboxError.invalid("\(key) is not set on device \(name) of \(owner); nothing to unset")
                }
            }
            try Devices.validate(name: name, device)
            layer.devices[name] = device
        }
    }

    /// Copies a device a container inherits from a profile into the container's own layer (with
    /// `pairs` applied), so it can be changed for this container only.
    public func overrideDevice(container: String, name: String, _ pairs: [(String, String)]) throws {
        try Names.validate(name, as: .device)
        try refuseDuplicates(pairs.map(\.0), what: "key")
        try edit(.container(container)) { layer, context in
            if layer.devices[name] != nil {
                throw SysboxError(.alreadyExists, "device \(name) is already the container's own; change it with: sysbox config device set \(container) \(name) KEY=VALUE")
            }
            guard var device = context.inherited.devices[name] else {
                let inherited = context.inherited.devices.keys.sorted()
                throw SysboxError.notFound(
                    "container \(container) inherits no device \(name) from its profiles (it inherits: \(inherited.isEmpty ? "none" : inherited.joined(separator: ", ")))")
            }
            for (key, value) in pairs {
                guard key != "type" else { throw SysboxError.invalid("the type of device \(name) cannot be changed") }
                device[key] = value
            }
            try Devices.validate(name: name, device)
            layer.devices[name] = device
        }
    }

    private func deviceNotFound(_ name: String, _ owner: ConfigOwner, _ context: EditContext) -> SysboxError {
        if case let .container(c) = owner, let profile = context.inheritedDevices[name] {
            return SysboxError.invalid(
                "device \(name) of container \(c) comes from profile \(profile); to change it here use: sysbox config device override \(c) \(name) KEY=VALUE; to drop it here: sysbox config device add \(c) \(name) none"
            )
        }
        return SysboxError.notFound("device \(name) not found on \(owner); \(owner.command) device list \(owner.name) shows its devices")
    }
}

extension ConfigEditor {
    /// Devices (NICs, disks) are set up at start: after a device change, which running containers keep
    /// their old devices until their next start. Nil when none.
    public func deviceChangeNote(_ owner: ConfigOwner) -> String? {
        let names: [String]
        switch owner {
        case let .container(name):
            names = [name]
        case let .profile(name):
            names = (try? read { db in try ContainerProfiles.users(db, profile: try profile(db, name).requireID()) }) ?? []
        }
        let running = names.filter { runtime.runtimeStatus($0).0.isLive }
        guard !running.isEmpty else { return nil }
        return
            "devices are set up at start: \(running.joined(separator: ", ")) \(running.count == 1 ? "gets" : "get") this change at the next start (sysbox restart \(running.joined(separator: " ")))"
    }
}
