import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// What `start` feeds the pure `StartPlanner`: the database view, the image, the host's view of each
/// disk source, the rootfs mount, the NICs (leased here) and the cgroup layout.
extension ContainerRuntime {
    /// The start plan of a container: gathers what `StartPlanner.plan` needs (the database view and
    /// image, the host's view of each disk source, the rootfs mount, the NICs, the cgroup layout) in
    /// the order that fails before any side effect where it can: the checks and the disk sources
    /// first, then the rootfs and the NICs. `layout` is the host's cgroup layout as `start` read it
    /// (its error, if reading failed, is thrown where the plan needs the layout).
    func makePlan(_ name: String, layout hostLayout: Result<CgroupLayout, Error>, warnings: inout [String]) throws -> StartPlan {
        let driver = try storageDriver()
        let (view, image) = try read { db -> (ContainerView, ImageInfo) in
            let record = try container(db, name)
            return (try containers.view(db, record), try images.baseImage(db, container: record))
        }
        let devices = view.expanded.devices
        let sources = Self.sourceFacts(devices)
        _ = try StartPlanner.diskMounts(devices, sources: sources, container: name)
        let rootfs = try driver.rootfs(container: paths(name), image: image)
        let layout = try hostLayout.get()
        try StartPlanner.checkCgroup(image.manifest, template: image.template, layout: layout)
        // The seccomp filter init and every exec load (containers/NAME/seccomp.bpf), built now from
        // this configuration.
        try SeccompPolicy.write(try SeccompPolicy.filter(config: view.expanded.config), to: paths(name).seccompFilter)
        let nics = try nics.prepareNICs(name, devices: devices)
        let userNamespace = try idmaps.next(container: name).map { try Self.userNamespace($0) }
        let lxcfs = LxcfsService(state: state).mountPoint(for: view.expanded.config, warnings: &warnings).map { ($0, Lxcfs.present(at: $0)) }
        let domain = try nics.first.map { first in try read { db in try networks.settings(db, try networks.network(db, first.bridge)).domain } }
        return try StartPlanner.plan(
            StartPlanner.Input(
                name: name, config: view.expanded.config, devices: devices, ephemeral: view.record.ephemeral, template: image.template,
                manifest: image.manifest, rootfs: rootfs, nics: nics, domain: domain, cgroupLayout: layout, sources: sources,
                maskFile: Spawner.maskFilePath, hostMemory: ContainerCgroup.hostMemory(), userNamespace: userNamespace, lxcfs: lxcfs))
    }

    /// The plan's view of an id map (allocated by `IDMaps.next`): the kernel's map texts and the host
    /// ids of the container's root.
    static func userNamespace(_ map: IDMap) throws -> StartPlan.UserNamespace {
        guard let uid = map.rootUID.flatMap(UInt32.init(exactly:)), let gid = map.rootGID.flatMap(UInt32.init(exactly:)) else {
            throw SysboxError(.internalError, "the id map \(map.json) does not map the container's root")
        }
        return StartPlan.UserNamespace(
            uidMap: try map.kernelText(.uid), gidMap: try map.kernelText(.gid), rootUID: uid, rootGID: gid)
    }

    /// stat(2) and statvfs(3) of every disk device's source.
    static func sourceFacts(_ devices: DeviceMap) -> [String: StartPlanner.SourceFact] {
        var facts: [String: StartPlanner.SourceFact] = [:]
        for d in devices.values where d["type"] == "disk" {
            guard let source = d["source"] else { continue }
            var st = stat()
            guard stat(source, &st) == 0 else {
                facts[source] = .missing(errno: errno)
                continue
            }
            var vfs = statvfs()
            let flags = statvfs(source, &vfs) == 0 ? UInt64(vfs.f_flag) & UInt64(MS_NOSUID | MS_NODEV | MS_NOEXEC) : 0
            facts[source] = .present(isDirectory: (st.st_mode & S_IFMT) == S_IFDIR, mountFlags: flags)
        }
        return facts
    }

}
