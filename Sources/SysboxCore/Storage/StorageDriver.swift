import CSysbox
import Foundation

/// How a container's root filesystem is mounted when it starts (inside its own mount namespace only,
/// so nothing is left on the host when the container dies).
public struct RootfsMount: Sendable, Equatable {
    /// Mount point: `$SYSBOX_DIR/containers/NAME/rootfs`.
    public var path: String
    /// `overlay`, or nil to bind `path` onto itself.
    public var fstype: String?
    public var options: String?
    /// overlay: the image's root filesystem (the lower layer); the upper and work directories are
    /// `upper` and `work` beside `path`.
    public var lower: String?

    public init(path: String, fstype: String? = nil, options: String? = nil, lower: String? = nil) {
        self.path = path
        self.fstype = fstype
        self.options = options
        self.lower = lower
    }
}

/// A storage driver: where containers' files live and how they are made from an image.
public protocol StorageDriver: Sendable {
    var name: String { get }
    /// Makes the container's storage from an image. Called with the container's directory existing.
    func create(container: ContainerPaths, image: ImageInfo) throws
    /// How to mount the root filesystem at start.
    func rootfs(container: ContainerPaths, image: ImageInfo) throws -> RootfsMount
    /// Removes the container's storage (its whole directory). Missing is fine.
    func delete(container: ContainerPaths) throws
    /// The container's own bytes (for overlay: its upper layer).
    func usage(container: ContainerPaths) -> UInt64
    /// The directory that holds what is the container's own (overlay: the upper layer; dir: the whole
    /// root filesystem): what a snapshot captures and a restore replaces.
    func dataDirectory(container: ContainerPaths) -> String
    /// Copies a data directory (snapshot, restore, copy) to `to`, which must not exist.
    func copyData(from: String, to: String, what: String) throws
}

extension StorageDriver {
    /// `cp -a --reflink=auto`: hard links, modes, owners and xattrs kept; reflinks where the filesystem
    /// has them.
    public func copyData(from: String, to: String, what: String) throws {
        try OperationProgress.whileCopying(from: from, to: to, what: what) {
            try Host.run(["cp", "-a", "--reflink=auto", "--no-target-directory", from, to], what: what)
        }
    }
}

/// The files of one container under `$SYSBOX_DIR/containers/NAME`.
public struct ContainerPaths: Sendable {
    public let directory: String
    public var rootfs: String { directory + "/rootfs" }
    public var upper: String { directory + "/upper" }
    public var work: String { directory + "/work" }
    /// `$SYSBOX_DIR/locks/NAME.lock`: outside the container's directory, so creating, renaming or
    /// deleting the container never removes a lock file someone holds.
    public let lock: String
    /// `$SYSBOX_DIR/locks/NAME.monitor`: held by the container's monitor for its whole life.
    public let monitorLock: String
    public var initPid: String { directory + "/init.pid" }
    public var monitorPid: String { directory + "/monitor.pid" }
    public var consoleLog: String { directory + "/console.log" }
    public var monitorLog: String { directory + "/monitor.log" }
    public var plan: String { directory + "/start.json" }
    public var lastError: String { directory + "/last-error" }
    /// `snapshots/SNAP/data` holds a snapshot's copy of the container's data directory.
    public var snapshots: String { directory + "/snapshots" }
    public func snapshot(_ name: String) -> String { snapshots + "/" + name }
    /// How init ended the last time (written by the monitor).
    public var lastStop: String { directory + "/last-stop" }
    /// What the C fast path of `exec` reads (see `ContainerExec.writeExecCache`).
    public var execCache: String { directory + "/exec.cache" }
    /// Where the monitor stages an unprivileged container's read-only disks (`ReadOnlyDisks`): an empty
    /// directory on the host, a tmpfs in the monitor's own mount namespace while init is cloned.
    public var staging: String { directory + "/staging" }
    /// Present while the container is paused (`sysbox pause`): its processes stay frozen until `resume`
    /// (or a stop), and snapshots and copies leave them so.
    public var paused: String { directory + "/paused" }
    /// Present while `restart` stops the container: an ephemeral container is not deleted then.
    public var restarting: String { directory + "/restarting" }
    /// Relative to `directory` (unix socket paths are limited to 107 bytes; the monitor binds it from
    /// inside the directory, clients connect through /proc/self/fd/N/console.sock).
    public static let consoleSocket = "console.sock"

    public init(stateDirectory: String, name: String) {
        directory = stateDirectory + "/containers/" + name
        lock = stateDirectory + "/locks/" + name + ".lock"
        monitorLock = stateDirectory + "/locks/" + name + ".monitor"
    }
}

/// `overlay`: the image is the read-only lower layer, shared; the container writes to its own upper
/// layer. Creating a container is making two empty directories.
public struct OverlayDriver: StorageDriver {
    public let name = "overlay"

    public func create(container: ContainerPaths, image: ImageInfo) throws {
        let fm = FileManager.default
        for dir in [container.rootfs, container.upper, container.work] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
    }

    public func rootfs(container: ContainerPaths, image: ImageInfo) throws -> RootfsMount {
        for path in [image.rootfs, container.upper, container.work] where path.contains(where: { ",:\\".contains($0) }) {
            throw SysboxError.invalid("the overlay driver cannot use \(path): it contains ',', ':' or '\\'; move SYSBOX_DIR")
        }
        guard FileManager.default.fileExists(atPath: image.rootfs) else {
            throw SysboxError(.io, "image \(image.fingerprint.prefix(12)) has no root filesystem at \(image.rootfs); rebuild it with: sysbox image build \(image.template)")
        }
        return RootfsMount(
            path: container.rootfs, fstype: "overlay",
            options: "lowerdir=\(image.rootfs),upperdir=\(container.upper),workdir=\(container.work)", lower: image.rootfs)
    }

    public func delete(container: ContainerPaths) throws {
        try Host.removeTree(container.directory)
    }

    public func usage(container: ContainerPaths) -> UInt64 { Images.treeSize(container.upper) }

    public func dataDirectory(container: ContainerPaths) -> String { container.upper }

    /// Whether the running kernel has overlayfs.
    static var supported: Bool {
        ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? "").contains("\toverlay\n")
    }
}

/// Drivers whose container root filesystem is a plain directory tree of its own (dir, btrfs): bound
/// onto itself at start, it is the container's data.
public protocol WholeRootfsDriver: StorageDriver {}

extension WholeRootfsDriver {
    public func rootfs(container: ContainerPaths, image: ImageInfo) throws -> RootfsMount {
        RootfsMount(path: container.rootfs, fstype: nil, options: nil)
    }

    public func delete(container: ContainerPaths) throws {
        try Host.removeTree(container.directory)
    }

    public func usage(container: ContainerPaths) -> UInt64 { Images.treeSize(container.rootfs) }

    public func dataDirectory(container: ContainerPaths) -> String { container.rootfs }
}

/// `dir`: a full copy of the image per container (reflinked where the filesystem can).
public struct DirDriver: WholeRootfsDriver {
    public let name = "dir"

    public func create(container: ContainerPaths, image: ImageInfo) throws {
        try copyData(from: image.rootfs, to: container.rootfs, what: "copying the image into \(container.rootfs)")
    }
}

/// `btrfs`: an image is a subvolume; a container's root filesystem, its snapshots and its copies are
/// subvolume snapshots of it (copy-on-write, instant whatever the size). Chosen when the state
/// directory is on btrfs. Deleting is `rm -rf` (the kernel removes an emptied subvolume with rmdir).
public struct BtrfsDriver: WholeRootfsDriver {
    public let name = "btrfs"

    /// BTRFS_SUPER_MAGIC from statfs(2).
    static func isBtrfs(_ path: String) -> Bool {
        sysbox_fs_type(path) & 0xffff_ffff == 0x9123_683E
    }

    /// A subvolume's root directory has inode 256 (BTRFS_FIRST_FREE_OBJECTID) on btrfs.
    static func isSubvolume(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_ino == 256 && (st.st_mode & S_IFMT) == S_IFDIR && isBtrfs(path)
    }

    static func btrfs(_ args: [String], what: String) throws {
        guard let tool = ["/usr/bin/btrfs", "/bin/btrfs", "/usr/sbin/btrfs", "/sbin/btrfs"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SysboxError(.unsupported, "\(what): the btrfs tool is missing; install the Debian package btrfs-progs")
        }
        try Host.run([tool] + args, what: what)
    }

    public func create(container: ContainerPaths, image: ImageInfo) throws {
        try copyData(from: image.rootfs, to: container.rootfs, what: "making the root filesystem of \(container.directory)")
    }

    /// A writable subvolume snapshot when `from` is a subvolume, else a reflinked copy.
    public func copyData(from: String, to: String, what: String) throws {
        if Self.isSubvolume(from) {
            let rc = sysbox_btrfs_snapshot(from, (to as NSString).deletingLastPathComponent, (to as NSString).lastPathComponent)
            if rc < 0 { throw SysboxError(.io, "\(what): btrfs snapshot of \(from) as \(to) failed: \(Host.errnoText(-rc))") }
        } else {
            try OperationProgress.whileCopying(from: from, to: to, what: what) {
                try Host.run(["cp", "-a", "--reflink=auto", "--no-target-directory", from, to], what: what)
            }
        }
    }
}

enum StorageDrivers {
    static func named(_ name: String) throws -> StorageDriver {
        switch name {
        case "overlay": return OverlayDriver()
        case "dir": return DirDriver()
        case "btrfs": return BtrfsDriver()
        default: throw SysboxError.invalid("unknown storage driver \(name)\(Suggest.hint(name, ["overlay", "dir", "btrfs"])); drivers: overlay, dir, btrfs")
        }
    }
}
