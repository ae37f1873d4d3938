import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The block device under a path, for the I/O throttles of disk devices (blkio.throttle.*, io.max take
/// a whole disk's `MAJ:MIN`).
public enum BlockDevices {
    /// The whole-disk `major:minor` of the filesystem holding `path`: stat(2)'s st_dev; a filesystem
    /// without a device number of its own (btrfs, overlay, tmpfs: major 0) is looked up in
    /// /proc/self/mountinfo, where its source must be a block device node; a partition is replaced by
    /// its disk (/sys/dev/block/MAJ:MIN/partition, the kernel throttles whole disks only).
    /// - Throws: `SysboxError(.unsupported)` naming the filesystem when there is no block device under
    ///   it (tmpfs, overlay, NFS…); `.io` when stat(2) fails (ENOENT: the path is missing).
    public static func device(under path: String) throws -> (major: UInt32, minor: UInt32) {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SysboxError(.io, "cannot stat \(path): \(Host.errnoText(errno))") }
        var id = split(UInt64(st.st_dev))
        if id.major == 0 {
            let text = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
            // btrfs subvolumes have device numbers of their own: then the mount the path is under.
            let (fstype, source) =
                mountSource(of: "\(id.major):\(id.minor)", mountinfo: text) ?? mountSource(under: path, mountinfo: text) ?? ("an unknown filesystem", "none")
            var node = stat()
            guard source.hasPrefix("/dev/"), stat(source, &node) == 0, (node.st_mode & S_IFMT) == S_IFBLK else {
                throw SysboxError(.unsupported, "\(path) is on \(fstype) (\(source)), which has no block device to throttle")
            }
            id = split(UInt64(node.st_rdev))
        }
        return wholeDisk(id)
    }

    /// The filesystem type and source of the mount whose device is `device` ("0:52").
    static func mountSource(of device: String, mountinfo: String) -> (fstype: String, source: String)? {
        for line in mountinfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            let left = halves[0].split(separator: " ")
            guard halves.count == 2, left.count >= 3, left[2] == device else { continue }
            let right = halves[1].split(separator: " ")
            guard right.count >= 2 else { continue }
            return (String(right[0]), String(right[1]))
        }
        return nil
    }

    /// The filesystem type and source of the deepest mount `path` is under.
    static func mountSource(under path: String, mountinfo: String) -> (fstype: String, source: String)? {
        let resolved = (path as NSString).resolvingSymlinksInPath
        var best: (Int, String, String)?
        for line in mountinfo.split(separator: "\n") {
            let halves = line.components(separatedBy: " - ")
            let left = halves[0].split(separator: " ")
            guard halves.count == 2, left.count >= 5 else { continue }
            let point = String(left[4])
            guard resolved == point || resolved.hasPrefix(point == "/" ? "/" : point + "/") else { continue }
            let right = halves[1].split(separator: " ")
            guard right.count >= 2, point.count >= (best?.0 ?? -1) else { continue }
            best = (point.count, String(right[0]), String(right[1]))
        }
        return best.map { ($0.1, $0.2) }
    }

    /// A partition's disk (its parent in /sys/dev/block), or `id` itself.
    static func wholeDisk(_ id: (major: UInt32, minor: UInt32)) -> (major: UInt32, minor: UInt32) {
        let sys = "/sys/dev/block/\(id.major):\(id.minor)"
        guard FileManager.default.fileExists(atPath: sys + "/partition"),
            let text = try? String(contentsOfFile: sys + "/../dev", encoding: .utf8)
        else { return id }
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":")
        guard parts.count == 2, let major = UInt32(parts[0]), let minor = UInt32(parts[1]) else { return id }
        return (major, minor)
    }

    /// glibc's major(3)/minor(3) of a dev_t.
    static func split(_ dev: UInt64) -> (major: UInt32, minor: UInt32) {
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        return (UInt32(truncatingIfNeeded: major), UInt32(truncatingIfNeeded: minor))
    }
}
