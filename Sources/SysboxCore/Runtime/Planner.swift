import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// Builds a container's start plan: one pure function (`plan(_:)`) from plain inputs to the complete,
/// ordered list of what the child does (mounts, device nodes, links, files), checked against golden
/// JSON in StartPlanGoldenTests; `ContainerRuntime.makePlan` (PlanInputs.swift) gathers the inputs (database, storage driver,
/// NICs, host facts) and calls it.
enum StartPlanner {
    /// What `stat(2)`/`statvfs(3)` said about a disk device's source on the host.
    enum SourceFact: Sendable, Equatable {
        /// It exists: a directory or not, and MS_NOSUID|MS_NODEV|MS_NOEXEC of the mount it is on.
        case present(isDirectory: Bool, mountFlags: UInt64)
        /// stat failed with this errno.
        case missing(errno: Int32)
    }

    /// Everything the plan depends on.
    struct Input: Sendable {
        var name: String
        /// The container's expanded configuration and devices.
        var config: [String: String]
        var devices: DeviceMap
        var ephemeral: Bool
        var template: String
        var manifest: TemplateManifest
        var rootfs: RootfsMount
        var nics: [StartPlan.Nic]
        /// The DNS domain of the first NIC's network.
        var domain: String?
        var cgroupLayout: CgroupLayout
        /// The facts about each disk source (a source not in it counts as missing).
        var sources: [String: SourceFact]
        /// The empty read-only file masked kernel files show (`Spawner.maskFilePath`).
        var maskFile: String
        var hostMemory: UInt64
        /// An unprivileged container's ids (nil: privileged).
        var userNamespace: StartPlan.UserNamespace? = nil
        /// The lxcfs mount the container's /proc and /sys views come from, and the files of `Lxcfs.files`
        /// it serves (nil: none, `security.lxcfs=false` or lxcfs absent).
        var lxcfs: (mountPoint: String, files: [String])? = nil
        /// The block device under a disk's source, for its I/O limits (`BlockDevices.device(under:)`).
        var blockDevice: @Sendable (String) throws -> (major: UInt32, minor: UInt32) = BlockDevices.device(under:)
    }

    /// The start plan of `input`: environment, limits, NICs and the ordered mounts and files. The order
    /// of `mounts` is what the kernel sees (see `mounts(_:disks:files:)`).
    static func plan(_ input: Input) throws -> StartPlan {
        let config = input.config
        var disks = try diskMounts(input.devices, sources: input.sources, container: input.name)
        if input.userNamespace != nil { disks = disks.map { shifted($0, devices: input.devices) } }
        try checkCgroup(input.manifest, template: input.template, layout: input.cgroupLayout)
        let environment =
            [
                "container=sysbox", "container_uuid=\(config["volatile.uuid"] ?? "")", "PATH=\(SYSBOX_DEFAULT_PATH)",
                "TERM=linux"
            ] + configEnvironment(config).map { "\($0.key)=\($0.value)" }
        return StartPlan(
            name: input.name, uuid: config["volatile.uuid"] ?? "", initPath: input.manifest.initPath, initArgs: [],
            environment: environment,
            stopSignal: try Signals.number(input.manifest.stopSignal, what: "image \(input.template)"),
            mounts: mounts(input, disks: disks, files: files(input)),
            limits: StartPlan.CgroupLimitsPlan(
                try CgroupLimits(
                    config: config, devices: input.devices, hostMemory: input.hostMemory,
                    rootDirectory: (input.rootfs.path as NSString).deletingLastPathComponent, blockDevice: input.blockDevice)),
            ephemeral: input.ephemeral, nics: input.nics, userNamespace: input.userNamespace,
            rlimits: try Rlimits.limits(config).nilIfEmpty)
    }

    /// `environment.KEY` settings as KEY/value pairs, by key: what init and every exec get on top of
    /// sysbox's own variables.
    static func configEnvironment(_ config: [String: String]) -> [(key: String, value: String)] {
        config.sorted { $0.key < $1.key }.compactMap { key, value in
            key.hasPrefix("environment.") ? (String(key.dropFirst("environment.".count)), value) : nil
        }
    }

    static func checkCgroup(_ manifest: TemplateManifest, template: String, layout: CgroupLayout) throws {
        if manifest.cgroup == "unified", !layout.hierarchies.contains(where: \.isV2) {
            throw SysboxError(
                .unsupported,
                "image \(template) needs the cgroup2 tree (its systemd refuses cgroup v1), and this host has no cgroup2 mounted; mount it (e.g. at /sys/fs/cgroup/unified)")
        }
    }

    /// The disk devices (other than the root), as binds: parents before children (/mnt/data before
    /// /mnt/data/inner). A missing source is an error.
    static func diskMounts(_ devices: DeviceMap, sources: [String: SourceFact], container name: String) throws -> [StartPlan.Mount] {
        var disks: [StartPlan.Mount] = []
        for (device, d) in devices.sorted(by: { $0.key < $1.key }) where d["type"] == "disk" {
            let path = try Values.absolutePath(d["path"] ?? "")
            guard path != "/", let source = d["source"] else { continue }
            let fact = sources[source] ?? .missing(errno: ENOENT)
            guard case let .present(isDirectory, mountFlags) = fact else {
                let code: Int32 = if case let .missing(e) = fact { e } else { ENOENT }
                throw SysboxError.invalid(
                    "device \(device): source \(source) does not exist on the host (\(Host.errnoText(code))); create it or fix the device with: sysbox config device set \(name) \(device) source=PATH"
                )
            }
            let readonly = (try? Values.bool(d["readonly"] ?? "false")) ?? false
            // Read-only: remounted so, keeping the source mount's nosuid/nodev/noexec.
            let flags = readonly ? [.readonly] + StartPlan.Mount.Flag.names(UInt(mountFlags) & UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)) : nil
            disks.append(
                StartPlan.Mount(
                    .bind, String(path.dropFirst()), source: source, flags: flags,
                    create: isDirectory ? .directory : .file, device: device))
        }
        disks.sort { ($0.target.split(separator: "/").count, $0.target) < ($1.target.split(separator: "/").count, $1.target) }
        return disks
    }

    /// An unprivileged container's disk with `shift=true`: an idmapped clone of the source (the monitor
    /// makes it, read-only and the source's nosuid/nodev/noexec set on it there), attached at the target
    /// resolved in the root filesystem; host files then show with their owners mapped into the container.
    static func shifted(_ disk: StartPlan.Mount, devices: DeviceMap) -> StartPlan.Mount {
        guard let device = disk.device, (try? Values.bool(devices[device]?["shift"] ?? "false")) == true else { return disk }
        var m = disk
        m.kind = .idmapped
        return m
    }

    /// The files written at start: the image's `start` files, the systemd container interface, DNS and
    /// networkd configuration for the NICs.
    static func files(_ input: Input) -> [StartPlan.Mount] {
        let name = input.name, domain = input.domain
        let uuid = input.config["volatile.uuid"] ?? ""
        let variables = [
            "name": name, "fqdn": domain.map { "\(name).\($0)" } ?? name,
            "machine_id": uuid.lowercased().filter(\.isHexDigit).padding(toLength: 32, withPad: "0", startingAt: 0)
        ]
        var files = input.manifest.rendered(trigger: "start", variables: variables).map { (String($0.0.dropFirst()), $0.1) }
        // The systemd container interface: who runs this container (in the /run tmpfs sysbox mounts).
        files.append(("run/host/container-manager", "sysbox\n"))
        if let first = input.nics.first, let domain {
            // The bridge's dnsmasq answers for the containers' names.
            files.append(("etc/resolv.conf", "nameserver \(first.gateway)\nsearch \(domain)\n"))
        }
        if input.manifest.networkConfig == "systemd-networkd" {
            for nic in input.nics {
                files.append(("etc/systemd/network/10-sysbox-\(nic.name).network", networkdConfig(nic, domain: domain)))
            }
        }
        return files.map { StartPlan.Mount(.file, $0.0, content: $0.1) }
    }

    /// The complete, ordered list. The order is what the kernel sees and must not change without
    /// reason (golden: StartPlanGoldenTests): the root filesystem; proc, sys and dev checked to be
    /// directories; the API filesystems and /dev; the console; /run; disks; masks; the lxcfs binds; files; the read-only
    /// rebinds of kernel tunables; the release (the monitor attaches the NICs before it); the cgroup
    /// tree in the new cgroup namespace.
    static func mounts(_ input: Input, disks: [StartPlan.Mount], files: [StartPlan.Mount]) -> [StartPlan.Mount] {
        typealias M = StartPlan.Mount
        let rootfs = input.rootfs
        var out: [M] = input.userNamespace == nil ? [privilegedRootfs(rootfs)] : unprivilegedRootfs(rootfs)
        out += [
            // Checked plain directories (never symlinks) inside this namespace.
            M(.directory, "proc"), M(.directory, "sys"), M(.directory, "dev"),
            M(.proc, "proc", source: "proc", fstype: "proc", flags: [.nosuid, .nodev, .noexec]),
            M(.sysfs, "sys", source: "sysfs", fstype: "sysfs", flags: [.readonly, .nosuid, .nodev, .noexec]),
            M(.tmpfs, "dev", source: "tmpfs", fstype: "tmpfs", options: "mode=755,size=65536k", flags: [.nosuid, .strictatime])
        ]
        let nodes: [(String, UInt32, UInt32)] = [
            ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
            ("tty", 5, 0)
        ]
        if input.userNamespace == nil {
            out += nodes.map { M(.devNode, "dev/" + $0.0, mode: 0o666, major: $0.1, minor: $0.2) }
        } else {
            // A user namespace cannot mknod (and its tmpfs is nodev): the host's nodes, bound.
            out += nodes.map { M(.bind, "dev/" + $0.0, source: "/dev/" + $0.0, create: .file) }
        }
        out += [
            M(
                .devpts, "dev/pts", source: "devpts", fstype: "devpts", options: "newinstance,ptmxmode=0666,mode=0620,gid=5",
                flags: [.nosuid, .noexec], mode: 0o755),
            M(.tmpfs, "dev/shm", source: "tmpfs", fstype: "tmpfs", options: "mode=1777,size=65536k", flags: [.nosuid, .nodev], mode: 0o1777),
            M(.mqueue, "dev/mqueue", source: "mqueue", fstype: "mqueue", flags: [.nosuid, .nodev, .noexec], mode: 0o755)
        ]
        let links = [
            ("dev/ptmx", "pts/ptmx"), ("dev/fd", "/proc/self/fd"), ("dev/stdin", "/proc/self/fd/0"),
            ("dev/stdout", "/proc/self/fd/1"), ("dev/stderr", "/proc/self/fd/2")
        ]
        out += links.map { M(.symlink, $0.0, source: $0.1) }
        // The pty slave the monitor allocates (its path is filled in at spawn).
        out.append(M(.console, "dev/console"))
        // /run: a fresh tmpfs (as systemd-nspawn does), where /run/host/container-manager is written.
        out.append(
            M(
                .tmpfs, "run", source: "tmpfs", fstype: "tmpfs", options: "mode=755,size=20%",
                flags: [.nosuid, .nodev, .strictatime], create: .directory))
        out += disks
        if input.userNamespace != nil, (try? Values.bool(input.config["security.nesting"] ?? "false")) == true {
            // security.nesting (unprivileged only): a proc and a sysfs without masks (LXC's places), so
            // that the kernel lets namespaces made inside mount their own (it wants a fully visible
            // instance in the mount namespace). Files there are host root's: out of the container's reach.
            out += [
                M(.directory, "dev/.lxc"),
                // No nosuid/nodev/noexec (nothing there needs them): the kernel would make every nested
                // mount carry the flags of these, and tools mount sysfs and proc without them.
                M(.proc, "dev/.lxc/proc", source: "proc", fstype: "proc", mode: 0o755),
                M(.sysfs, "dev/.lxc/sys", source: "sysfs", fstype: "sysfs", mode: 0o755)
            ]
        }
        out += Hardening.maskedFiles.map { M(.maskFile, $0, source: input.maskFile, flags: [.readonly]) }
        out += Hardening.maskedDirectories.map {
            M(.maskDir, $0, source: "tmpfs", fstype: "tmpfs", options: "size=0,mode=000", flags: [.readonly, .nosuid, .nodev, .noexec])
        }
        // lxcfs: its views of the kernel files, read-only over the container's proc and sysfs ones.
        if let lxcfs = input.lxcfs { out += Lxcfs.binds(mountPoint: lxcfs.mountPoint, present: lxcfs.files) }
        out += files
        // linux.sysctl.*: the IPC and UTS ones before /proc/sys turns read-only; the network ones after
        // the release (the NICs are attached then, so net.ipv4.conf.eth0.* exists), /proc/sys/net
        // staying writable.
        let sysctls = Sysctls.settings(input.config).map {
            M(.sysctl, $0.path, content: $0.value)
        }
        out += sysctls.filter { !$0.target.hasPrefix("proc/sys/net/") }
        out += Hardening.rebinds.map { M(.rebind, $0.0, flags: ($0.1 ? [.readonly] : []) + [.nosuid, .nodev, .noexec]) }
        out.append(M(.release, ""))
        out += sysctls.filter { $0.target.hasPrefix("proc/sys/net/") }
        out += cgroupMounts(input.cgroupLayout, unifiedOnly: input.manifest.cgroup == "unified")
        return out
    }

    /// The root filesystem of a privileged container: the overlay mounted, or the tree bound onto
    /// itself, at its absolute path.
    static func privilegedRootfs(_ rootfs: RootfsMount) -> StartPlan.Mount {
        rootfs.fstype.map { StartPlan.Mount(.rootfs, rootfs.path, source: $0, fstype: $0, options: rootfs.options) }
            ?? StartPlan.Mount(.rootfs, rootfs.path, source: rootfs.path, flags: [.bind, .rec])
    }

    /// The root filesystem of an unprivileged container. Its files stay owned by the container's own
    /// ids on disk (as a privileged container's): the child sees them through idmapped mounts the
    /// monitor makes (`idmapped` entries: attached at the rootfs mount point, or inside the first one).
    /// overlay: the container's directory (the upper and work directories must share a mount) with the
    /// image attached at its `rootfs`, and the overlay made by the container's root from them, with
    /// `userxattr` (its markers in user.overlay.* xattrs), on top. dir and btrfs: the tree itself.
    static func unprivilegedRootfs(_ rootfs: RootfsMount) -> [StartPlan.Mount] {
        typealias M = StartPlan.Mount
        guard rootfs.fstype == "overlay", let lower = rootfs.lower else {
            return [M(.idmapped, rootfs.path, source: rootfs.path), M(.rootfs, rootfs.path, source: "idmapped")]
        }
        let directory = (rootfs.path as NSString).deletingLastPathComponent
        return [
            M(.idmapped, rootfs.path, source: directory),
            M(.idmapped, "rootfs", source: lower),
            M(.rootfs, rootfs.path, source: "overlay", fstype: "overlay", options: "lowerdir=rootfs,upperdir=upper,workdir=work,userxattr")
        ]
    }

    /// The cgroup tree the container sees at /sys/fs/cgroup (`ContainerCgroup.containerMounts`).
    static func cgroupMounts(_ layout: CgroupLayout, unifiedOnly: Bool) -> [StartPlan.Mount] {
        let tree = ContainerCgroup(layout: layout, stateDirectory: "", name: "").containerMounts(unifiedOnly: unifiedOnly)
        return tree.map { m in
            let flags = StartPlan.Mount.Flag.names(m.flags)
            let mode: UInt32? = m.mkdir ? 0o755 : nil
            switch m.fstype {
            case nil: return StartPlan.Mount(.remount, m.target, source: "none", options: m.options, flags: flags)
            case "tmpfs"?: return StartPlan.Mount(.tmpfs, m.target, source: "tmpfs", fstype: "tmpfs", options: m.options, flags: flags, mode: mode)
            case let fstype?: return StartPlan.Mount(.cgroup, m.target, source: fstype, fstype: fstype, options: m.options, flags: flags, mode: mode)
            }
        }
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

extension Array {
    /// nil for an empty array (a plan field left out of start.json).
    var nilIfEmpty: [Element]? { isEmpty ? nil : self }
}

extension StartPlan.Mount.Flag {
    /// The MS_* value.
    var value: UInt {
        switch self {
        case .readonly: UInt(MS_RDONLY)
        case .nosuid: UInt(MS_NOSUID)
        case .nodev: UInt(MS_NODEV)
        case .noexec: UInt(MS_NOEXEC)
        case .strictatime: UInt(MS_STRICTATIME)
        case .bind: UInt(MS_BIND)
        case .rec: UInt(MS_REC)
        case .remount: UInt(MS_REMOUNT)
        }
    }

    static let all: [StartPlan.Mount.Flag] = [.readonly, .nosuid, .nodev, .noexec, .strictatime, .bind, .rec, .remount]

    /// The names of the flags set in `mask`, in `all`'s order (bits without a name are dropped).
    static func names(_ mask: UInt) -> [StartPlan.Mount.Flag] { all.filter { mask & $0.value != 0 } }
}
