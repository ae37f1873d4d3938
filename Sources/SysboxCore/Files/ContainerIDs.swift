import Foundation

/// How a running container's ids show on the host: an unprivileged container's root is a host id
/// from its range (its user namespace's uid_map and gid_map), a privileged one's is host root. Files
/// reached through `/proc/PID/root` carry host ids; the user names container ids. A view of the
/// kernel's maps as an `IDMap` (which does the translation), in the `uid_t`/`gid_t` file calls use.
struct ContainerIDs: Sendable, Equatable {
    /// The namespace's maps; a kind with no entries is the identity (the initial namespace's).
    var map: IDMap

    /// Host ids are container ids (a privileged container, or one reached when stopped).
    static let identity = ContainerIDs(map: IDMap(entries: []))

    var isIdentity: Bool { map.entries.isEmpty }

    /// From the kernel's map texts (`/proc/PID/uid_map` and `gid_map`, e.g. "         0    1065536      65536\n").
    init(uidMap: String, gidMap: String) {
        map = IDMap(entries: Self.parse(uidMap, .uid) + Self.parse(gidMap, .gid))
    }

    init(map: IDMap) { self.map = map }

    /// The entries of one kernel map text; the full identity map ("0 0 4294967295", the initial
    /// namespace's) and unreadable lines give none.
    static func parse(_ text: String, _ kind: IDKind) -> [IDMapEntry] {
        let entries = text.split(separator: "\n").compactMap { line -> IDMapEntry? in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count == 3, let ns = UInt32(f[0]), let host = UInt32(f[1]), let count = UInt32(f[2]) else { return nil }
            return IDMapEntry(isUID: kind == .uid, isGID: kind == .gid, hostID: Int64(host), nsID: Int64(ns), range: Int64(count))
        }
        return entries.count == 1 && entries[0].nsID == 0 && entries[0].hostID == 0 && entries[0].range == Int64(UInt32.max) ? [] : entries
    }

    /// The maps of process `pid` (its /proc/PID/uid_map and gid_map).
    /// - Throws: `SysboxError(.conflict)` when either cannot be read (the process ended): never taken
    ///   for the identity, which would create files as host root in an unprivileged container.
    static func of(_ pid: Int32, container name: String) throws -> ContainerIDs {
        func read(_ file: String) throws -> String {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8), !text.isEmpty else {
                throw SysboxError(.conflict, "container \(name) stopped (its init's \(file) is gone)")
            }
            return text
        }
        return ContainerIDs(uidMap: try read("uid_map"), gidMap: try read("gid_map"))
    }

    private func host(_ id: UInt32, _ kind: IDKind) -> UInt32? {
        map.entries(kind).isEmpty ? id : map.hostID(Int64(id), kind).flatMap { UInt32(exactly: $0) }
    }

    private func container(_ id: UInt32, _ kind: IDKind) -> UInt32? {
        map.entries(kind).isEmpty ? id : map.containerID(Int64(id), kind).flatMap { UInt32(exactly: $0) }
    }

    /// The host uid of container uid `id`; nil when the container has no such id.
    func hostUID(_ id: UInt32) -> UInt32? { host(id, .uid) }
    func hostGID(_ id: UInt32) -> UInt32? { host(id, .gid) }
    /// The container's uid for host uid `id`: the overflow id 65534 (`nobody`) when it has none, as the
    /// kernel shows it inside.
    func containerUID(_ id: UInt32) -> UInt32 { container(id, .uid) ?? 65534 }
    func containerGID(_ id: UInt32) -> UInt32 { container(id, .gid) ?? 65534 }

    /// Host ids for an owner the user gave in container ids.
    /// - Throws: `SysboxError(.invalidArgument)` when the container has no such id.
    func hostOwner(uid: uid_t, gid: gid_t, container name: String) throws -> (uid_t, gid_t) {
        guard let u = hostUID(uid) else { throw SysboxError.invalid("uid \(uid) does not exist in container \(name) (its id map has no such id)") }
        guard let g = hostGID(gid) else { throw SysboxError.invalid("gid \(gid) does not exist in container \(name) (its id map has no such id)") }
        return (u, g)
    }
}
