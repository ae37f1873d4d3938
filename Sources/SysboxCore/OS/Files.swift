import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Files on the host: written atomically, trees removed (btrfs subvolumes too).
extension Host {
    /// Writes `text` to `path` through a temporary file (created with `mode`, never through a symlink)
    /// and rename(2), so readers see the old or the new content, never half a file. `durable`: fsync
    /// before the rename, so the new content survives a power loss; files that only describe live
    /// processes (pid files, the exec cache, the start plan) pass false: they mean nothing after a
    /// reboot, and a start pays each fsync (~1 ms here).
    static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        let tmp = path + ".tmp-\(getpid())"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw SysboxError(.io, "cannot write \(tmp): \(errnoText(errno))") }
        var failure: Int32 = 0
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count && failure == 0 {
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + done }, bytes.count - done) }
            if n > 0 { done += n } else if n < 0 && errno != EINTR { failure = errno } else if n == 0 { failure = EIO }
        }
        // The mode exactly (not narrowed by the umask), then the data on disk when asked.
        if failure == 0 && fchmod(fd, mode) != 0 { failure = errno }
        if failure == 0 && durable && fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else {
            unlink(tmp)
            throw SysboxError(.io, "cannot write \(tmp): \(errnoText(failure))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw SysboxError(.io, "cannot rename \(tmp) to \(path): \(errnoText(e))")
        }
    }

    /// Removes a tree; a missing path is fine.
    static func removeTree(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil else { return }
        // On btrfs, subvolumes (images, root filesystems, snapshots of the btrfs driver) are deleted as
        // such first: the tree walk below does not cross into them.
        if BtrfsDriver.isBtrfs(path) { try deleteSubvolumes(under: path) }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw SysboxError(.io, "cannot remove \(path): \(error.localizedDescription)", cause: error)
        }
    }

    /// Deletes every subvolume at or below `path` that the walk reaches (a subvolume's root has inode
    /// 256), without walking into one that can be destroyed at once (BTRFS_IOC_SNAP_DESTROY): only a
    /// subvolume with others nested inside (ENOTEMPTY) is walked, to delete those first.
    static func deleteSubvolumes(under path: String) throws {
        func children(_ dir: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { dir + "/" + $0 }.filter { p in
                var st = stat()
                return lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
        }
        func visit(_ dir: String, depth: Int) throws {
            var st = stat()
            guard depth < 64, lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
            guard st.st_ino == 256 else {
                for child in children(dir) { try visit(child, depth: depth + 1) }
                return
            }
            let parent = (dir as NSString).deletingLastPathComponent, name = (dir as NSString).lastPathComponent
            var rc = sysbox_btrfs_destroy(parent, name)
            if rc == -ENOTEMPTY {
                for child in children(dir) { try visit(child, depth: depth + 1) }
                rc = sysbox_btrfs_destroy(parent, name)
            }
            if rc < 0 { throw SysboxError(.io, "cannot delete btrfs subvolume \(dir): \(Host.errnoText(-rc))") }
        }
        try visit(path, depth: 0)
    }
}
