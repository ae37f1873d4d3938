import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The markers overlayfs keeps on an upper layer's directories (`opaque`: the lower directory is
/// hidden; `redirect`: where a renamed directory came from) live in `trusted.overlay.*` when host root
/// mounts the overlay (a privileged container) and in `user.overlay.*` when the container's root does
/// (`userxattr`, an unprivileged one); each mount reads only its own. Before a start, the markers of the
/// other kind are copied to the kind the start uses wherever that one is missing, so a container whose
/// mode changed (or a copy or restore from another mode) sees the same tree. Only directories carry
/// them; the walk never follows a link and never leaves the upper layer's filesystem.
enum OverlayMarkers {
    enum Kind: String, Sendable {
        case trusted, user
        var other: Kind { self == .trusted ? .user : .trusted }
    }

    static let names = ["opaque", "redirect"]

    /// On the upper layer's own directory: the kind the last sync copied to. While it names a kind,
    /// every marker of the other kind has one of that kind too (a mount of that kind writes only its
    /// own), so a start in the same mode skips the walk, whose cost grows with the upper layer. It
    /// travels with the upper layer (copies and snapshots keep xattrs); the container's root cannot
    /// set it unless it is host root (trusted.*).
    static let stamp = "trusted.sysbox.overlay_markers"

    /// Copies missing `kind` markers from the other kind under `upper` (lgetxattr/lsetxattr), unless
    /// the stamp says the last sync was to `kind` already; then stamps `upper`. Returns how many were
    /// copied.
    @discardableResult
    static func sync(upper: String, to kind: Kind) throws -> Int {
        var st = stat()
        guard lstat(upper, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return 0 }
        if stamped(upper) == kind { return 0 }
        let copied = try walk(upper, device: st.st_dev, to: kind, depth: 0)
        guard lsetxattr(upper, stamp, kind.rawValue, kind.rawValue.utf8.count, 0) == 0 else {
            throw SysboxError(.io, "cannot mark \(upper) as synced (\(stamp)): \(Host.errnoText(errno))")
        }
        return copied
    }

    /// The kind `upper`'s stamp names; nil when it has none (never synced, or copied without xattrs).
    static func stamped(_ upper: String) -> Kind? {
        var value = [UInt8](repeating: 0, count: 16)
        let n = lgetxattr(upper, stamp, &value, value.count)
        guard n > 0 else { return nil }
        return Kind(rawValue: String(decoding: value.prefix(n), as: UTF8.self))
    }

    private static func walk(_ dir: String, device: dev_t, to kind: Kind, depth: Int) throws -> Int {
        guard depth < 4096 else { throw SysboxError(.io, "the upper layer is too deep at \(dir)") }
        var copied = try copyMarkers(dir, to: kind)
        guard let stream = opendir(dir) else { return copied }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            guard entry.pointee.d_type == UInt8(DT_DIR) || entry.pointee.d_type == UInt8(DT_UNKNOWN) else { continue }
            let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name == "." || name == ".." { continue }
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_dev == device else { continue }
            copied += try walk(path, device: device, to: kind, depth: depth + 1)
        }
        return copied
    }

    private static func copyMarkers(_ path: String, to kind: Kind) throws -> Int {
        var copied = 0
        for marker in names {
            let want = "\(kind.rawValue).overlay.\(marker)", have = "\(kind.other.rawValue).overlay.\(marker)"
            guard lgetxattr(path, want, nil, 0) < 0, errno == ENODATA else { continue }
            let size = lgetxattr(path, have, nil, 0)
            guard size >= 0 else { continue }
            var value = [UInt8](repeating: 0, count: max(size, 1))
            let n = lgetxattr(path, have, &value, value.count)
            guard n >= 0 else { continue }
            guard lsetxattr(path, want, value, n, 0) == 0 else {
                throw SysboxError(.io, "cannot copy the overlay marker \(have) of \(path) to \(want): \(Host.errnoText(errno))")
            }
            copied += 1
        }
        return copied
    }
}
