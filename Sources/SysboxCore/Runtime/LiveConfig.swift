import Foundation
import GRDB
import SysboxStore

struct LiveConfig: StateBound {
    let state: State

    /// Memory, CPU time and processes of a running container, from its cgroups.
    public func stats(_ name: String) -> CgroupStats? {
        guard runtime.liveState(name) != nil, let layout = try? CgroupLayout.host() else { return nil }
        return ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name).stats()
    }

    /// The running containers a change of `owner` affects, with their current cgroup limits.
    func liveLimits(_ db: Database, affectedBy owner: ConfigOwner) throws -> [(String, CgroupLimits)] {
        let names: [String]
        switch owner {
        case let .container(name):
            names = [name]
        case let .profile(name):
            guard let record = try ProfileRecord.named(name, in: db) else { return [] }
            names = try ContainerProfiles.users(db, profile: try record.requireID())
        }
        return try names.filter { runtime.liveState($0) != nil }.map { name in
            let view = try containers.view(db, try container(db, name))
            // For the rollback only: a disk whose limits cannot apply now must not block its own fix.
            let now = (try? limits(view.expanded, container: name)) ?? (try? CgroupLimits(config: view.expanded.config, hostMemory: ContainerCgroup.hostMemory()))
            return (name, now ?? CgroupLimits())
        }
    }

    /// The cgroup limits of an expanded configuration: its keys and its disks' I/O limits (the root
    /// disk's on the block device under the container's directory).
    func limits(_ expanded: ConfigLayer, container name: String) throws -> CgroupLimits {
        try CgroupLimits(
            config: expanded.config, devices: expanded.devices, hostMemory: ContainerCgroup.hostMemory(), rootDirectory: paths(name).directory)
    }

    /// Inside the transaction of a config change: applies the new limits of the running containers in
    /// `before`; if the kernel refuses one (a CPU the host lacks), the limits already written go back
    /// to `before` and the error rolls the change back.
    func applyLiveLimits(_ db: Database, before: [(String, CgroupLimits)]) throws {
        guard !before.isEmpty else { return }
        let layout = try CgroupLayout.host()
        var applied: [(String, CgroupLimits)] = []
        for (name, old) in before {
            let view = try containers.view(db, try container(db, name))
            let cgroup = ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name)
            do {
                try cgroup.apply(try limits(view.expanded, container: name))
                applied.append((name, old))
            } catch let error as SysboxError {
                for (done, limits) in applied + [(name, old)] {
                    try? ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: done).apply(limits)
                }
                throw error.wrapped("cannot apply the change to running container \(name): \(error.message); nothing changed")
            }
        }
    }
}
