import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// Builds a container's start plan from the database (its expanded config, image, NICs).
struct StartPlanner: StateBound {
    let state: State

    /// The image a container was made from.
    func baseImage(_ db: Database, container: ContainerRecord) throws -> ImageInfo {
        let config = try ConfigTable.containers.load(db, owner: try container.requireID())
        guard let fingerprint = config["volatile.base_image"],
              let record = try ImageRecord.filter(Column("fingerprint") == fingerprint).fetchOne(db) else {
            throw SysboxError(.notFound, "the image of container \(container.name) is gone (volatile.base_image \(config["volatile.base_image"] ?? "unset")); delete the container and create it again")
        }
        return try images.imageInfo(db, record)
    }

    /// Everything the monitor needs, from the container's expanded config.
    func makePlan(_ name: String, warnings: inout [String]) throws -> StartPlan {
        let driver = try storageDriver()
        let (view, image) = try read { db -> (ContainerView, ImageInfo) in
            let record = try container(db, name)
            return (try containers.view(db, record), try baseImage(db, container: record))
        }
        let config = view.expanded.config
        if let privileged = config["security.privileged"], (try? Values.bool(privileged)) == false {
            throw SysboxError(.unsupported, "security.privileged=false (an unprivileged container) is not supported yet; unset it to run \(name) privileged")
        }
        var environment = ["container=sysbox", "container_uuid=\(config["volatile.uuid"] ?? "")",
                           "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=linux"]
        for (key, value) in config.sorted(by: { $0.key < $1.key }) where key.hasPrefix("environment.") {
            environment.append("\(key.dropFirst("environment.".count))=\(value)")
        }
        var disks: [StartPlan.Disk] = []
        for (device, d) in view.expanded.devices.sorted(by: { $0.key < $1.key }) {
            switch d["type"] {
            case "disk":
                let path = try Values.absolutePath(d["path"] ?? "")
                guard path != "/", let source = d["source"] else { continue }
                var st = stat()
                guard stat(source, &st) == 0 else {
                    throw SysboxError.invalid("device \(device): source \(source) does not exist on the host (\(Host.errnoText(errno))); create it or fix the device with: sysbox config device set \(name) \(device) source=PATH")
                }
                var vfs = statvfs()
                let mountFlags = statvfs(source, &vfs) == 0 ? UInt64(vfs.f_flag) & UInt64(MS_NOSUID | MS_NODEV | MS_NOEXEC) : 0
                disks.append(StartPlan.Disk(device: device, source: source, target: String(path.dropFirst()),
                                            readonly: (try? Values.bool(d["readonly"] ?? "false")) ?? false,
                                            isDirectory: (st.st_mode & S_IFMT) == S_IFDIR, keepFlags: mountFlags))
            default:
                break
            }
        }
        // Parents before children: /mnt/data before /mnt/data/inner.
        disks.sort { ($0.target.split(separator: "/").count, $0.target) < ($1.target.split(separator: "/").count, $1.target) }
        let rootfs = try driver.rootfs(container: paths(name), image: image)
        if image.manifest.cgroup == "unified", !((try? CgroupLayout.host())?.hierarchies.contains(where: \.isV2) ?? false) {
            throw SysboxError(.unsupported, "image \(image.template) needs the cgroup2 tree (its systemd refuses cgroup v1), and this host has no cgroup2 mounted; mount it (e.g. at /sys/fs/cgroup/unified)")
        }
        let nics = try nics.prepareNICs(name, devices: view.expanded.devices)
        let domain = try nics.first.map { first in try read { db in try networks.settings(db, try networks.network(db, first.bridge)).domain } }
        let uuid = config["volatile.uuid"] ?? ""
        let variables = ["name": name, "fqdn": domain.map { "\(name).\($0)" } ?? name,
                         "machine_id": uuid.lowercased().filter(\.isHexDigit).padding(toLength: 32, withPad: "0", startingAt: 0)]
        var files = image.manifest.rendered(trigger: "start", variables: variables).map { StartPlan.File(path: String($0.0.dropFirst()), content: $0.1) }
        // The systemd container interface: who runs this container (in the /run tmpfs sysbox mounts).
        files.append(StartPlan.File(path: "run/host/container-manager", content: "sysbox\n"))
        if let first = nics.first, let domain {
            // The bridge's dnsmasq answers for the containers' names.
            files.append(StartPlan.File(path: "etc/resolv.conf", content: "nameserver \(first.gateway)\nsearch \(domain)\n"))
        }
        if image.manifest.networkConfig == "systemd-networkd" {
            for nic in nics {
                files.append(StartPlan.File(path: "etc/systemd/network/10-sysbox-\(nic.name).network", content: Self.networkdConfig(nic, domain: domain)))
            }
        }
        return StartPlan(
            name: name, uuid: config["volatile.uuid"] ?? "", rootfsPath: rootfs.path, rootfsType: rootfs.fstype,
            rootfsOptions: rootfs.options, initPath: image.manifest.initPath, initArgs: [], environment: environment,
            stopSignal: try Signals.number(image.manifest.stopSignal, what: "image \(image.template)"), disks: disks,
            files: files,
            limits: StartPlan.CgroupLimitsPlan(try CgroupLimits(config: config, hostMemory: ContainerCgroup.hostMemory())),
            ephemeral: view.record.ephemeral, nics: nics, cgroupView: image.manifest.cgroup)
    }

    /// A systemd-networkd `.network` file for a NIC that sysbox configured before init: networkd keeps
    /// the address and routes it finds (KeepConfiguration; re-adding them makes it fail the link with
    /// ERANGE) and gets the bridge's dnsmasq for DNS. A DHCP client would get the same address anyway
    /// (dnsmasq holds a reservation for it).
    static func networkdConfig(_ nic: StartPlan.Nic, domain: String?) -> String {
        var text = "# Written by sysbox at each start. sysbox set \(nic.address)/\(nic.prefix)"
        text += nic.defaultRoute ? " and the default route via \(nic.gateway)" : ""
        text += " on \(nic.name) before init ran;\n# networkd keeps them.\n[Match]\nName=\(nic.name)\n\n[Network]\nDNS=\(nic.gateway)\n"
        if let domain { text += "Domains=\(domain)\n" }
        text += "LinkLocalAddressing=no\nIPv6AcceptRA=no\nKeepConfiguration=yes\n"
        return text
    }
}
