import Foundation

/// How a running container's ids show on the host: an unprivileged container's root is a host id
/// from its range (its user namespace's uid_map and gid_map), a privileged one's is host root. Files
/// reached through `/proc/PID/root` carry host ids; the user names container ids.
struct ContainerIDs: Sendable, Equatable {
    /// One line of a `/proc/PID/uid_map` or `gid_map`: container ids `inside..<inside+count` are host ids
    /// `outside..<outside+count`.
    struct Range: Sendable, Equatable {
        var inside: UInt32
        var outside: UInt32
        var count: UInt32
    }

    var uids: [Range]
    var gids: [Range]

    /// Host ids are container ids (a privileged container, or one reached when stopped).
    static let identity = ContainerIDs(uids: [], gids: [])

    var isIdentity: Bool { uids.isEmpty && gids.isEmpty }

    /// Parses the kernel's map text ("         0    1065536      65536\n"); the full identity map
    /// ("0 0 4294967295", the initial namespace's) gives no ranges.
    static func parse(_ text: String) -> [Range] {
        let ranges = text.split(separator: "\n").compactMap { line -> Range? in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count == 3, let i = UInt32(f[0]), let o = UInt32(f[1]), let c = UInt32(f[2]) else { return nil }
            return Range(inside: i, outside: o, count: c)
        }
        return ranges == [Range(inside: 0, outside: 0, count: UInt32.max)] ? [] : ranges
    }

    /// The maps of process `pid` (its /proc/PID/uid_map and gid_map); identity when unreadable.
    static func of(_ pid: Int32) -> ContainerIDs {
        func read(_ file: String) -> [Range] { parse((try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8)) ?? "") }
        return ContainerIDs(uids: read("uid_map"), gids: read("gid_map"))
    }

    static func host(_ id: UInt32, in ranges: [Range]) -> UInt32? {
        if ranges.isEmpty { return id }
        for r in ranges where id >= r.inside && UInt64(id) < UInt64(r.inside) + UInt64(r.count) { return r.outside + (id - r.inside) }
        return nil
    }

    static func container(_ id: UInt32, in ranges: [Range]) -> UInt32? {
        if ranges.isEmpty { return id }
        for r in ranges where id >= r.outside && UInt64(id) < UInt64(r.outside) + UInt64(r.count) { return r.inside + (id - r.outside) }
        return nil
    }

    /// The host uid of container uid `id`; nil when the container has no such id.
    func hostUID(_ id: UInt32) -> UInt32? { Self.host(id, in: uids) }
    func hostGID(_ id: UInt32) -> UInt32? { Self.host(id, in: gids) }
    /// The container's uid for host uid `id`: the overflow id 65534 (`nobody`) when it has none, as the
    /// kernel shows it inside.
    func containerUID(_ id: UInt32) -> UInt32 { Self.container(id, in: uids) ?? 65534 }
    func containerGID(_ id: UInt32) -> UInt32 { Self.container(id, in: gids) ?? 65534 }

    /// Host ids for an owner the user gave in container ids.
    /// - Throws: `SysboxError(.invalidArgument)` when the container has no such id.
    func hostOwner(uid: uid_t, gid: gid_t, container name: String) throws -> (uid_t, gid_t) {
        guard let u = hostUID(uid) else { throw SysboxError.invalid("uid \(uid) does not exist in container \(name) (its id map has no such id)") }
        guard let g = hostGID(gid) else { throw SysboxError.invalid("gid \(gid) does not exist in container \(name) (its id map has no such id)") }
        return (u, g)
    }
}
