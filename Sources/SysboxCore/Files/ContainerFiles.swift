import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct ContainerFiles: StateBound {
    let state: State

    /// Runs `body` with an `O_PATH` fd of the container's root and how its ids show there: through
    /// `/proc/PID/root` while it runs (an unprivileged container's files carry host ids from its range;
    /// this thread then works as the container's root, `sysbox_thread_fsids`, so what it creates is
    /// owned by an id the container has); its root filesystem when stopped (the container's own ids;
    /// dir driver: the directory; overlay: the overlay mounted at `containers/NAME/rootfs` for the time
    /// of `body`, then detached). Under the container's lock, so no start or delete happens meanwhile.
    func withContainerRoot<T>(_ name: String, _ body: (Int32, ContainerIDs) throws -> T) throws -> T {
        try Names.validate(name, as: .container)
        let (image, privileged) = try read { db in
            let record = try container(db, name)
            return (try images.baseImage(db, container: record), try IDMapConfig(expanded: try containers.view(db, record).expanded.config, container: name).privileged)
        }
        let driver = try storageDriver()
        return try withLock(name) {
            if let live = runtime.liveState(name) {
                let root = open("/proc/\(live.initPid)/root", SYSBOX_O_PATH | O_DIRECTORY | O_CLOEXEC)
                guard root >= 0 else { throw SysboxError(.conflict, "container \(name) stopped") }
                defer { close(root) }
                let ids = try ContainerIDs.of(live.initPid, container: name)
                if !ids.isIdentity {
                    guard let uid = ids.hostUID(0), let gid = ids.hostGID(0), sysbox_thread_fsids(uid, gid) == 0 else {
                        throw SysboxError(.io, "cannot act as the root of container \(name) (setfsuid)")
                    }
                }
                defer { if !ids.isIdentity { _ = sysbox_thread_fsids(0, 0) } }
                return try body(root, ids)
            }
            let p = paths(name)
            let mount = try driver.rootfs(container: p, image: image)
            var mounted = false
            if let fstype = mount.fstype {
                // An unprivileged container's overlay keeps its markers in user.overlay.* xattrs (those of
                // the other kind copied first, as a start does: its mode may have changed since).
                try OverlayMarkers.sync(upper: p.upper, to: privileged ? .trusted : .user)
                let options = (mount.options ?? "") + (privileged ? "" : ",userxattr")
                guard Glibc.mount(fstype, mount.path, fstype, 0, options) == 0 else {
                    throw SysboxError(.io, "cannot mount the root filesystem of \(name) to reach its files: \(Host.errnoText(errno))")
                }
                mounted = true
            }
            defer { if mounted { _ = umount2(mount.path, Int32(MNT_DETACH)) } }
            let root = open(mount.path, SYSBOX_O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
            guard root >= 0 else { throw SysboxError(.io, "cannot open \(mount.path): \(Host.errnoText(errno))") }
            defer { close(root) }
            return try body(root, .identity)
        }
    }

    /// Reads a file of a container (running or stopped). The path is resolved inside the container's
    /// root (openat2 RESOLVE_IN_ROOT): symlinks are the container's own, `..` stops at its `/`, so a
    /// link to /etc/shadow gives the container's file, never the host's.
    /// - Returns: the bytes and the file's mode, uid and gid.
    public func pullFile(_ name: String, path: String) throws -> (data: Data, mode: mode_t, uid: uid_t, gid: gid_t) {
        guard path.hasPrefix("/") else { throw SysboxError.invalid("\(Names.quote(path)) is not an absolute path in container \(name) (e.g. /etc/hostname)") }
        return try withContainerRoot(name) { root, ids in
            let fd = sysbox_openat_in_root(root, path, O_RDONLY | O_NONBLOCK, 0)
            guard fd >= 0 else { throw SysboxError(.notFound, "cannot open \(path) in container \(name): \(Host.errnoText(-fd))") }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw SysboxError(.io, "cannot stat \(path) in \(name): \(Host.errnoText(errno))") }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                throw SysboxError.invalid("\(path) in container \(name) is a directory; pull it with -r")
            }
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw SysboxError.invalid("\(path) in container \(name) is not a regular file (a device, FIFO or socket)")
            }
            let data = FileHandle(fileDescriptor: fd, closeOnDealloc: false).readDataToEndOfFile()
            return (data, st.st_mode & 0o7777, ids.containerUID(st.st_uid), ids.containerGID(st.st_gid))
        }
    }

    /// Writes a file into a container (running or stopped), resolved inside its root like `pullFile`;
    /// with `createParents`, missing directories are made (mode 0755, root). An existing directory at
    /// `path`, or a `path` ending in `/` (made when missing, even without `createParents`; its parent
    /// must then exist), receives the file under `fileName`. A file there is replaced in place (O_TRUNC), never
    /// through a symlink out of the container.
    public func pushFile(
        _ name: String, path: String, data: Data, fileName: String, mode: mode_t, uid: uid_t, gid: gid_t,
        createParents: Bool
    ) throws {
        guard path.hasPrefix("/") else { throw SysboxError.invalid("\(Names.quote(path)) is not an absolute path in container \(name) (e.g. /root/notes.txt)") }
        try withContainerRoot(name) { root, ids in
            let (uid, gid) = try ids.hostOwner(uid: uid, gid: gid, container: name)
            try pushFile(root: root, name, path: path, data: data, fileName: fileName, mode: mode, uid: uid, gid: gid, createParents: createParents)
        }
    }

    /// Copies a local directory tree into a container (like `pushFile` for each regular file; its
    /// directories made with their modes; symlinks recreated as they are, to be resolved inside the
    /// container). An existing directory at `path`, or a `path` ending in `/` (made when missing, as
    /// `makeTargetDirectory`), receives the tree under the local directory's name.
    /// With `createParents`, the missing directories above the tree are made (mode 0755, root).
    public func pushTree(_ name: String, local: String, path: String, uid: uid_t, gid: gid_t, createParents: Bool = false) throws {
        guard path.hasPrefix("/") else { throw SysboxError.invalid("\(Names.quote(path)) is not an absolute path in container \(name)") }
        let fm = FileManager.default
        try withContainerRoot(name) { root, ids in
            let (uid, gid) = try ids.hostOwner(uid: uid, gid: gid, container: name)
            var top = path
            let into = (path as NSString).appendingPathComponent((local as NSString).lastPathComponent)
            if createParents { try makeDirectories(root: root, name, (path as NSString).deletingLastPathComponent) }
            if path.hasSuffix("/") {
                // A directory, whether it exists or not: the tree goes in under its own name.
                try makeTargetDirectory(root: root, name, path)
                top = into
            } else {
                let existing = sysbox_openat_in_root(root, path, SYSBOX_O_PATH | O_DIRECTORY, 0)
                if existing >= 0 { close(existing); top = into }
            }
            try makeDirectory(root: root, name, top, mode: Self.localMode(local) ?? 0o755, uid: uid, gid: gid)
            for relative in (fm.enumerator(atPath: local)?.allObjects as? [String] ?? []).sorted() {
                let source = local + "/" + relative, target = top + "/" + relative
                var st = stat()
                guard lstat(source, &st) == 0 else { continue }
                switch st.st_mode & S_IFMT {
                case S_IFDIR:
                    try makeDirectory(root: root, name, target, mode: st.st_mode & 0o7777, uid: uid, gid: gid)
                case S_IFREG:
                    guard let data = fm.contents(atPath: source) else { throw SysboxError(.io, "cannot read \(source)") }
                    try pushFile(
                        root: root, name, path: target, data: data, fileName: (relative as NSString).lastPathComponent,
                        mode: st.st_mode & 0o7777, uid: uid, gid: gid, createParents: false)
                case S_IFLNK:
                    let link = try fm.destinationOfSymbolicLink(atPath: source)
                    let parent = sysbox_openat_in_root(root, (target as NSString).deletingLastPathComponent, SYSBOX_O_PATH | O_DIRECTORY, 0)
                    guard parent >= 0 else { throw SysboxError(.io, "cannot open the directory of \(target) in container \(name): \(Host.errnoText(-parent))") }
                    defer { close(parent) }
                    guard symlinkat(link, parent, (target as NSString).lastPathComponent) == 0 || errno == EEXIST else {
                        throw SysboxError(.io, "cannot create the link \(target) in container \(name): \(Host.errnoText(errno))")
                    }
                default:
                    continue  // devices, FIFOs and sockets are not copied
                }
            }
        }
    }

    static func localMode(_ path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o7777 : nil
    }

    /// The directory a target ending in `/` names, made when missing (mode 0755, root, as `-p` makes
    /// them): only that last one; its parent must exist (`mkdirat` ENOENT says to use -p).
    func makeTargetDirectory(root: Int32, _ name: String, _ path: String) throws {
        var dir = Substring(path)
        while dir.hasSuffix("/") { dir = dir.dropLast() }
        guard !dir.isEmpty else { return }
        let parent = (String(dir) as NSString).deletingLastPathComponent
        let probe = sysbox_openat_in_root(root, parent, SYSBOX_O_PATH | O_DIRECTORY, 0)
        guard probe >= 0 else {
            if -probe == ENOENT {
                throw SysboxError(.io, "cannot create \(dir) in container \(name): its parent \(parent) does not exist (use -p to create directories)")
            }
            throw SysboxError(.io, "cannot open \(parent) in container \(name): \(Host.errnoText(-probe))")
        }
        close(probe)
        try makeDirectory(root: root, name, String(dir), mode: 0o755, uid: 0, gid: 0)
    }

    /// Makes every missing directory of `path` (mode 0755, root), each with mkdirat in its resolved
    /// parent (`-p`).
    func makeDirectories(root: Int32, _ name: String, _ path: String) throws {
        var prefix = ""
        for component in path.split(separator: "/") {
            let parent = prefix.isEmpty ? "/" : prefix
            prefix += "/" + component
            let probe = sysbox_openat_in_root(root, prefix, SYSBOX_O_PATH | O_DIRECTORY, 0)
            if probe >= 0 { close(probe); continue }
            let dir = sysbox_openat_in_root(root, parent, SYSBOX_O_PATH | O_DIRECTORY, 0)
            guard dir >= 0 else { throw SysboxError(.io, "cannot open \(parent) in container \(name): \(Host.errnoText(-dir))") }
            defer { close(dir) }
            guard mkdirat(dir, String(component), 0o755) == 0 || errno == EEXIST else {
                throw SysboxError(.io, "cannot create \(prefix) in container \(name): \(Host.errnoText(errno))")
            }
        }
    }

    /// mkdirat in the container's resolved parent; an existing directory keeps its mode.
    func makeDirectory(root: Int32, _ name: String, _ path: String, mode: mode_t, uid: uid_t, gid: gid_t) throws {
        let probe = sysbox_openat_in_root(root, path, SYSBOX_O_PATH | O_DIRECTORY, 0)
        if probe >= 0 { close(probe); return }
        let parent = sysbox_openat_in_root(root, (path as NSString).deletingLastPathComponent, SYSBOX_O_PATH | O_DIRECTORY, 0)
        guard parent >= 0 else { throw SysboxError(.io, "cannot open the directory of \(path) in container \(name): \(Host.errnoText(-parent))") }
        defer { close(parent) }
        let base = (path as NSString).lastPathComponent
        guard mkdirat(parent, base, mode) == 0 else { throw SysboxError(.io, "cannot create \(path) in container \(name): \(Host.errnoText(errno))") }
        let dir = sysbox_openat_in_root(root, path, O_RDONLY | O_DIRECTORY, 0)
        guard dir >= 0 else { throw SysboxError(.io, "cannot open \(path) in container \(name): \(Host.errnoText(-dir))") }
        defer { close(dir) }
        _ = fchown(dir, uid, gid)
        _ = fchmod(dir, mode)
    }

    /// Copies a directory tree of a container to `local` (created; must not exist): directories,
    /// regular files with their modes, symlinks as they are. Below the resolved directory every entry
    /// is opened relative to its parent with O_NOFOLLOW, so nothing outside the container is reached.
    public func pullTree(_ name: String, path: String, to local: String) throws {
        guard path.hasPrefix("/") else { throw SysboxError.invalid("\(Names.quote(path)) is not an absolute path in container \(name)") }
        guard !FileManager.default.fileExists(atPath: local) else { throw SysboxError(.alreadyExists, "\(local) exists; pull into a new path") }
        try withContainerRoot(name) { root, _ in
            let dir = sysbox_openat_in_root(root, path, O_RDONLY | O_DIRECTORY, 0)
            guard dir >= 0 else { throw SysboxError(.notFound, "cannot open directory \(path) in container \(name): \(Host.errnoText(-dir))") }
            defer { close(dir) }
            try Self.copyOut(dir, to: local, depth: 0)
        }
    }

    static func copyOut(_ dirfd: Int32, to local: String, depth: Int) throws {
        guard depth < 256 else { throw SysboxError(.io, "the tree is too deep at \(local)") }
        var st = stat()
        guard fstat(dirfd, &st) == 0, mkdir(local, st.st_mode & 0o7777 | 0o700) == 0 else { throw SysboxError(.io, "cannot create \(local): \(Host.errnoText(errno))") }
        let copy = dup(dirfd)
        guard copy >= 0, let stream = fdopendir(copy) else { throw SysboxError(.io, "cannot list a directory for \(local): \(Host.errnoText(errno))") }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let entryName = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if entryName == "." || entryName == ".." { continue }
            var est = stat()
            guard fstatat(dirfd, entryName, &est, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let target = local + "/" + entryName
            switch est.st_mode & S_IFMT {
            case S_IFDIR:
                let child = openat(dirfd, entryName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw SysboxError(.io, "cannot open \(entryName): \(Host.errnoText(errno))") }
                defer { close(child) }
                try copyOut(child, to: target, depth: depth + 1)
            case S_IFREG:
                let fd = openat(dirfd, entryName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard fd >= 0 else { throw SysboxError(.io, "cannot open \(entryName): \(Host.errnoText(errno))") }
                let data = FileHandle(fileDescriptor: fd, closeOnDealloc: true).readDataToEndOfFile()
                guard FileManager.default.createFile(atPath: target, contents: data, attributes: [.posixPermissions: Int(est.st_mode & 0o777)]) else {
                    throw SysboxError(.io, "cannot write \(target)")
                }
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: 4097)
                let n = readlinkat(dirfd, entryName, &buffer, 4096)
                if n > 0 { symlink(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self), target) }
            default:
                continue
            }
        }
    }

    func pushFile(
        root: Int32, _ name: String, path: String, data: Data, fileName: String, mode: mode_t, uid: uid_t, gid: gid_t,
        createParents: Bool
    ) throws {
        do {
            var target = path
            let existing = path.hasSuffix("/") ? -1 : sysbox_openat_in_root(root, path, SYSBOX_O_PATH, 0)
            if path.hasSuffix("/") { target = path + fileName }
            if existing >= 0 {
                var st = stat()
                if fstat(existing, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { target = (path as NSString).appendingPathComponent(fileName) }
                close(existing)
            }
            if path.hasSuffix("/") && !createParents { try makeTargetDirectory(root: root, name, path) }
            if createParents { try makeDirectories(root: root, name, (target as NSString).deletingLastPathComponent) }
            let fd = sysbox_openat_in_root(root, target, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK, mode)
            guard fd >= 0 else {
                let hint = -fd == ENOENT && !createParents ? "; its directory (or a link's target) does not exist (use -p to create directories)" : ""
                throw SysboxError(.io, "cannot write \(target) in container \(name): \(Host.errnoText(-fd))\(hint)")
            }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                throw SysboxError.invalid("\(target) in container \(name) is not a regular file")
            }
            let written = data.withUnsafeBytes { buf -> Int in
                var done = 0
                while done < buf.count {
                    let n = Glibc.write(fd, buf.baseAddress.map { $0 + done }, buf.count - done)
                    if n < 0 { if errno == EINTR { continue }; return -1 }
                    done += n
                }
                return done
            }
            guard written == data.count else { throw SysboxError(.io, "cannot write \(target) in container \(name): \(Host.errnoText(errno))") }
            guard fchown(fd, uid, gid) == 0, fchmod(fd, mode) == 0 else {
                throw SysboxError(.io, "cannot set the owner or mode of \(target) in container \(name): \(Host.errnoText(errno))")
            }
        }
    }
}
