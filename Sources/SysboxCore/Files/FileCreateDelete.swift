import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `file create` and `file delete` (LXD 5.x): a file, directory or symlink made, or a path removed,
/// inside a container (running or stopped), resolved inside its root as `pushFile` is.
/// What `file create` makes (LXD's `--type`).
public enum FileEntryType: String, CaseIterable, Sendable {
    case file, directory, symlink
}

extension ContainerFiles {
    /// The parent directory (an `O_PATH` fd resolved in the container's root) and the last component
    /// of `path`, which must name something below `/` (not `.` or `..`).
    private func parentAndBase(root: Int32, _ name: String, _ path: String) throws -> (Int32, String) {
        let parts = path.split(separator: "/")
        guard let base = parts.last.map(String.init), base != ".", base != ".." else {
            throw SysboxError.invalid("\(Names.quote(path)) names no file in container \(name) (give a path below /, e.g. /root/notes)")
        }
        let parentPath = "/" + parts.dropLast().joined(separator: "/")
        let parent = sysbox_openat_in_root(root, parentPath, SYSBOX_O_PATH | O_DIRECTORY, 0)
        guard parent >= 0 else {
            let hint = -parent == ENOENT ? " (use -p to create directories)" : ""
            throw SysboxError(.notFound, "cannot open \(parentPath) in container \(name): \(Host.errnoText(-parent))\(hint)")
        }
        return (parent, base)
    }

    /// Creates an empty file (openat2 O_CREAT|O_EXCL, RESOLVE_NO_XDEV), a directory (mkdirat) or a symlink to `target`
    /// (symlinkat, kept as given: resolved inside the container) at `path`, owned by `uid`:`gid` (container
    /// ids) with `mode` (files and directories). With `createParents`, missing directories are made
    /// first (0755, root). An existing entry is an error unless `force`: then a file is emptied, a
    /// directory kept (mode and owner set), a symlink replaced; never a different type.
    /// - Throws: `SysboxError(.alreadyExists)` for an existing entry without `force`; `.notFound` for
    ///   a missing parent; `.invalidArgument` for a bad path or an entry of another type.
    func createEntry(
        _ name: String, path: String, type: FileEntryType, target: String?, mode: mode_t?, uid: uid_t, gid: gid_t,
        createParents: Bool, force: Bool
    ) throws {
        guard path.hasPrefix("/") else { throw SysboxError.invalid("\(Names.quote(path)) is not an absolute path in container \(name) (e.g. /root/notes)") }
        guard (type == .symlink) == (target != nil) else {
            throw SysboxError.invalid(
                type == .symlink ? "a symlink needs its target: sysbox file create --type symlink \(name)\(path) TARGET" : "only --type symlink takes a target")
        }
        try withContainerRoot(name) { root, ids in
            let (uid, gid) = try ids.hostOwner(uid: uid, gid: gid, container: name)
            if createParents { try makeDirectories(root: root, name, (path as NSString).deletingLastPathComponent) }
            let (parent, base) = try parentAndBase(root: root, name, path)
            defer { close(parent) }
            var st = stat()
            let exists = fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0
            let existingType: FileEntryType? =
                switch st.st_mode & S_IFMT {
                case _ where !exists: nil
                case S_IFREG: .file
                case S_IFDIR: .directory
                case S_IFLNK: .symlink
                default: nil
                }
            if exists {
                guard force else { throw SysboxError(.alreadyExists, "\(path) exists in container \(name); use -f to overwrite it") }
                guard existingType == type else {
                    throw SysboxError.invalid("\(path) in container \(name) is not a \(type.rawValue); delete it first (sysbox file delete \(name)\(path))")
                }
            }
            switch type {
            case .file:
                // Never through a symlink or into a mount over the path (a host file bound there):
                // O_EXCL without -f, openat2 RESOLVE_NO_XDEV with it.
                let flags = O_WRONLY | O_CREAT | O_NONBLOCK | (exists ? O_TRUNC : O_EXCL)
                let fd = sysbox_openat_no_xdev(parent, base, flags, mode ?? 0o644)
                guard fd >= 0 else { throw Self.entryError("create", path, name, -fd) }
                defer { close(fd) }
                guard fchown(fd, uid, gid) == 0, fchmod(fd, mode ?? 0o644) == 0 else {
                    throw SysboxError(.io, "cannot set the owner or mode of \(path) in container \(name): \(Host.errnoText(errno))")
                }
            case .directory:
                if !exists, mkdirat(parent, base, mode ?? 0o755) != 0 {
                    throw SysboxError(.io, "cannot create \(path) in container \(name): \(Host.errnoText(errno))")
                }
                let fd = sysbox_openat_no_xdev(parent, base, O_RDONLY | O_DIRECTORY, 0)
                guard fd >= 0 else { throw Self.entryError("open", path, name, -fd) }
                defer { close(fd) }
                guard fchown(fd, uid, gid) == 0, fchmod(fd, mode ?? 0o755) == 0 else {
                    throw SysboxError(.io, "cannot set the owner or mode of \(path) in container \(name): \(Host.errnoText(errno))")
                }
            case .symlink:
                if exists, unlinkat(parent, base, 0) != 0 {
                    throw SysboxError(.io, "cannot replace \(path) in container \(name): \(Host.errnoText(errno))")
                }
                guard symlinkat(target ?? "", parent, base) == 0 else {
                    throw SysboxError(.io, "cannot create the link \(path) in container \(name): \(Host.errnoText(errno))")
                }
                guard fchownat(parent, base, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw SysboxError(.io, "cannot set the owner of \(path) in container \(name): \(Host.errnoText(errno))")
                }
            }
        }
    }

    /// Removes `path` from a container: a file, a symlink (never what it points to) or an empty
    /// directory (unlinkat); with `force`, a directory and everything below it, each entry removed
    /// relative to its parent with O_NOFOLLOW (nothing outside the container is reached). `/` is refused.
    /// - Throws: `SysboxError(.notFound)` when nothing is there; `.invalidArgument` for a non-empty
    ///   directory without `force`.
    func deleteEntry(_ name: String, path: String, force: Bool) throws {
        guard path.hasPrefix("/") else { throw SysboxError.invalid("\(Names.quote(path)) is not an absolute path in container \(name) (e.g. /root/notes)") }
        try withContainerRoot(name) { root, _ in
            let (parent, base) = try parentAndBase(root: root, name, path)
            defer { close(parent) }
            var st = stat()
            guard fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SysboxError(.notFound, "cannot delete \(path) in container \(name): \(Host.errnoText(errno))")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                guard unlinkat(parent, base, 0) == 0 else { throw SysboxError(.io, "cannot delete \(path) in container \(name): \(Host.errnoText(errno))") }
                return
            }
            if force { try Self.emptyDirectory(parent, base, path: path, container: name, depth: 0) }
            guard unlinkat(parent, base, AT_REMOVEDIR) == 0 else {
                if errno == ENOTEMPTY { throw SysboxError.invalid("\(path) in container \(name) is a directory that is not empty; delete it with -f") }
                throw SysboxError(.io, "cannot delete \(path) in container \(name): \(Host.errnoText(errno))")
            }
        }
    }

    /// The one-line error of an entry the kernel would not open: EXDEV is a mount (a disk device, or
    /// a bind made inside the container) at or below the path, which sysbox never crosses.
    static func entryError(_ verb: String, _ path: String, _ name: String, _ err: Int32) -> SysboxError {
        if err == EXDEV {
            return SysboxError.invalid("\(path) in container \(name) is or holds a mount (a disk device?); sysbox does not \(verb) across mounts")
        }
        return SysboxError(.io, "cannot \(verb) \(path) in container \(name): \(Host.errnoText(err))")
    }

    /// Removes everything inside the directory `base` of `parent`, walked by fd with openat2
    /// RESOLVE_NO_XDEV: never through a link, never into a mount (a disk device, or a bind the
    /// container made: refused, nothing below it removed).
    private static func emptyDirectory(_ parent: Int32, _ base: String, path: String, container name: String, depth: Int) throws {
        guard depth < 256 else { throw SysboxError(.io, "\(path) in container \(name) is too deep to delete") }
        let dir = sysbox_openat_no_xdev(parent, base, O_RDONLY | O_DIRECTORY, 0)
        guard dir >= 0 else { throw entryError("delete", path, name, -dir) }
        defer { close(dir) }
        let copy = dup(dir)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw SysboxError(.io, "cannot list \(path) in container \(name): \(Host.errnoText(errno))")
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let entryName = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if entryName != "." && entryName != ".." { names.append(entryName) }
        }
        for entryName in names {
            var st = stat()
            guard fstatat(dir, entryName, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            if isDirectory { try emptyDirectory(dir, entryName, path: path + "/" + entryName, container: name, depth: depth + 1) }
            guard unlinkat(dir, entryName, isDirectory ? AT_REMOVEDIR : 0) == 0 else {
                throw SysboxError(.io, "cannot delete \(path)/\(entryName) in container \(name): \(Host.errnoText(errno))")
            }
        }
    }
}
