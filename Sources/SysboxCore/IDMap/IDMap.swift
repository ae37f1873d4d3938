import Foundation

/// Which of the two kernel maps an id belongs to.
public enum IDKind: String, Sendable, CaseIterable {
    case uid, gid
}

/// One range of a user namespace's id map: container ids `nsID..<nsID+range` are host ids
/// `hostID..<hostID+range`, for uids, gids or both. Stored in LXD's volatile JSON shape
/// (`{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":65536}`).
public struct IDMapEntry: Sendable, Equatable, Hashable, Codable {
    public var isUID: Bool
    public var isGID: Bool
    public var hostID: Int64
    public var nsID: Int64
    public var range: Int64

    public init(isUID: Bool, isGID: Bool, hostID: Int64, nsID: Int64, range: Int64) {
        self.isUID = isUID
        self.isGID = isGID
        self.hostID = hostID
        self.nsID = nsID
        self.range = range
    }

    /// LXD's field names.
    enum CodingKeys: String, CodingKey {
        case isUID = "Isuid", isGID = "Isgid", hostID = "Hostid", nsID = "Nsid", range = "Maprange"
    }

    /// Whether the entry applies to `kind`.
    public func covers(_ kind: IDKind) -> Bool { kind == .uid ? isUID : isGID }

    /// The container ids it maps (`nsID..<nsID+range`).
    public var nsRange: Range<Int64> { nsID..<(nsID + range) }

    /// The host ids it maps (`hostID..<hostID+range`).
    public var hostRange: Range<Int64> { hostID..<(hostID + range) }

    /// The same entry for one kind only.
    func only(_ kind: IDKind) -> IDMapEntry {
        IDMapEntry(isUID: kind == .uid, isGID: kind == .gid, hostID: hostID, nsID: nsID, range: range)
    }

    /// `{"Isuid":…,"Isgid":…,"Hostid":…,"Nsid":…,"Maprange":…}` in LXD's field order.
    var json: String {
        "{\"Isuid\":\(isUID),\"Isgid\":\(isGID),\"Hostid\":\(hostID),\"Nsid\":\(nsID),\"Maprange\":\(range)}"
    }
}

/// The id map of a user namespace: what the runtime writes to `/proc/PID/uid_map` and `gid_map`, and
/// what sysbox records in `volatile.idmap.next` / `.current` (LXD's JSON).
public struct IDMap: Sendable, Equatable {
    public var entries: [IDMapEntry]

    /// The kernel takes at most this many lines per map (Linux 4.15 and later).
    public static let maxKernelLines = 340
    /// The highest valid id: `(uid_t)-1` is "no id".
    public static let maxID: Int64 = 4_294_967_294

    public init(entries: [IDMapEntry]) { self.entries = entries }

    /// The plain map of `size` ids from container 0: uids to `uidBase…`, gids to `gidBase…` (two
    /// entries, as LXD records them).
    public static func block(uidBase: Int64, gidBase: Int64, size: Int64) -> IDMap {
        IDMap(entries: [
            IDMapEntry(isUID: true, isGID: false, hostID: uidBase, nsID: 0, range: size),
            IDMapEntry(isUID: false, isGID: true, hostID: gidBase, nsID: 0, range: size)
        ])
    }

    /// The entries that apply to `kind`, sorted by container id.
    public func entries(_ kind: IDKind) -> [IDMapEntry] {
        entries.filter { $0.covers(kind) }.sorted { ($0.nsID, $0.hostID) < ($1.nsID, $1.hostID) }
    }

    // MARK: - Kernel text

    /// The text to write to `/proc/PID/uid_map` (`.uid`) or `gid_map` (`.gid`): one `NSID HOSTID RANGE`
    /// line per entry, sorted by container id. The runtime writes it with one `write(2)` (the kernel
    /// accepts a map once; EINVAL there means overlapping ranges or more than 340 lines, EPERM a writer
    /// without CAP_SETUID/CAP_SETGID over the namespace, or host id 0 without CAP_SETFCAP).
    /// - Throws: `SysboxError(.invalidArgument)` when the map breaks the kernel's rules (see `validate`).
    public func kernelText(_ kind: IDKind) throws -> String {
        try validate()
        return entries(kind).map { "\($0.nsID) \($0.hostID) \($0.range)\n" }.joined()
    }

    /// Checks the kernel's rules for both maps: at least one entry, positive ranges of valid ids, no
    /// two entries overlapping on the container side or on the host side, at most 340 lines.
    /// - Throws: `SysboxError(.invalidArgument)` naming the entries.
    public func validate() throws {
        for kind in IDKind.allCases {
            let list = entries(kind)
            guard !list.isEmpty else { throw SysboxError.invalid("the id map has no \(kind) entry; a user namespace needs both maps") }
            guard list.count <= Self.maxKernelLines else {
                throw SysboxError.invalid(
                    "the \(kind) map has \(list.count) lines, more than the kernel's \(Self.maxKernelLines); merge raw.idmap entries into ranges (e.g. uid 1000-1009 1000-1009)")
            }
            for e in list where e.range < 1 || e.nsID < 0 || e.hostID < 0 || e.nsID + e.range - 1 > Self.maxID || e.hostID + e.range - 1 > Self.maxID {
                throw SysboxError.invalid("the \(kind) map entry \(e.nsID) \(e.hostID) \(e.range) is outside the ids 0-\(Self.maxID)")
            }
            for side in ["container", "host"] {
                let ranges = list.map { side == "host" ? $0.hostRange : $0.nsRange }.sorted { $0.lowerBound < $1.lowerBound }
                for (a, b) in zip(ranges, ranges.dropFirst()) where a.overlaps(b) {
                    throw SysboxError.invalid(
                        "the \(kind) map maps \(side) ids \(IDRanges.text(a)) and \(IDRanges.text(b)) twice; ranges of one map cannot overlap")
                }
            }
        }
    }

    // MARK: - Translation

    /// The host id of container id `id`, nil when the map leaves it unmapped (it shows as the overflow
    /// id, 65534, across the namespace boundary).
    public func hostID(_ id: Int64, _ kind: IDKind) -> Int64? {
        entries.first { $0.covers(kind) && $0.nsRange.contains(id) }.map { $0.hostID + (id - $0.nsID) }
    }

    /// The container id of host id `id`, nil when no entry maps it.
    public func containerID(_ id: Int64, _ kind: IDKind) -> Int64? {
        entries.first { $0.covers(kind) && $0.hostRange.contains(id) }.map { $0.nsID + (id - $0.hostID) }
    }

    /// The host uid of the container's root (nil when uid 0 is unmapped).
    public var rootUID: Int64? { hostID(0, .uid) }

    /// The host gid of the container's root group (nil when gid 0 is unmapped).
    public var rootGID: Int64? { hostID(0, .gid) }

    // MARK: - LXD's JSON

    /// LXD's volatile form: `[{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":65536},…]`
    /// (`[]` for no map), entries in their order.
    public var json: String { "[" + entries.map(\.json).joined(separator: ",") + "]" }

    /// Reads LXD's volatile form (any field order and spacing; `[]` or an empty string is the empty map).
    /// - Throws: `ValueError` saying what is wrong.
    public init(json text: String) throws(ValueError) {
        if text.allSatisfy(\.isWhitespace) {
            self.init(entries: [])
            return
        }
        do {
            self.init(entries: try JSONDecoder().decode([IDMapEntry].self, from: Data(text.utf8)))
        } catch {
            throw ValueError(
                "expected LXD's id map JSON like [{\"Isuid\":true,\"Isgid\":false,\"Hostid\":1000000,\"Nsid\":0,\"Maprange\":65536}]")
        }
    }
}

/// Helpers on id ranges.
enum IDRanges {
    /// `a-b` (inclusive) or `a` for a single id.
    static func text(_ r: Range<Int64>) -> String { r.count == 1 ? "\(r.lowerBound)" : "\(r.lowerBound)-\(r.upperBound - 1)" }

    /// `r` without `hole`: none, one or two pieces.
    static func subtract(_ r: Range<Int64>, _ hole: Range<Int64>) -> [Range<Int64>] {
        guard r.overlaps(hole) else { return [r] }
        var out: [Range<Int64>] = []
        if r.lowerBound < hole.lowerBound { out.append(r.lowerBound..<hole.lowerBound) }
        if hole.upperBound < r.upperBound { out.append(hole.upperBound..<r.upperBound) }
        return out
    }

    /// `n` rounded up to a multiple of `alignment`.
    static func alignUp(_ n: Int64, _ alignment: Int64) -> Int64 { (n + alignment - 1) / alignment * alignment }
}
