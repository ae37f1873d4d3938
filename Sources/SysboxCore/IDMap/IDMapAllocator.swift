import Foundation

/// Where containers' host id ranges come from: root's ranges in `/etc/subuid` and `/etc/subgid` when
/// both files give root one, else sysbox's default range recorded in the database (`idmap.base`,
/// `idmap.size` in the settings table). Uid and gid ranges may start at different host ids; a
/// container's block sits at the same offset in both.
public struct IDMapSource: Sendable, Equatable {
    public enum Origin: Sendable, Equatable {
        case subIDFiles, database
    }

    public var uidStart: Int64
    public var gidStart: Int64
    /// Ids in the source (the smaller of the uid and gid ranges).
    public var size: Int64
    public var origin: Origin

    public init(uidStart: Int64, gidStart: Int64, size: Int64, origin: Origin) {
        self.uidStart = uidStart
        self.gidStart = gidStart
        self.size = size
        self.origin = origin
    }

    /// Settings keys of the default range, and their values on first use (as Incus does).
    public static let baseSetting = "idmap.base", sizeSetting = "idmap.size"
    public static let defaultBase: Int64 = 1_000_000, defaultSize: Int64 = 1_000_000_000

    /// The source root's subordinate ranges give: the first range of each file with at least
    /// `IDMapAllocator.minimumSize` ids. Nil when either file gives root no range (then the database's
    /// default range is used).
    /// - Throws: `SysboxError(.invalidArgument)` when root has ranges but none large enough.
    public static func fromSubIDs(uid: [SubIDRange], gid: [SubIDRange], files: SubIDFiles) throws -> IDMapSource? {
        guard !uid.isEmpty, !gid.isEmpty else { return nil }
        let minimum = IDMapAllocator.minimumSize
        for (ranges, path) in [(uid, files.subuid), (gid, files.subgid)] where SubIDs.firstLargeEnough(ranges, minimum: minimum) == nil {
            throw SysboxError.invalid(
                "root's ranges in \(path) are smaller than \(minimum) ids; give root a larger range in \(files.subuid) and \(files.subgid) (e.g. root:1000000:1000000000), or remove root's lines to use sysbox's default range"
            )
        }
        guard let u = SubIDs.firstLargeEnough(uid, minimum: minimum), let g = SubIDs.firstLargeEnough(gid, minimum: minimum) else { return nil }
        return IDMapSource(uidStart: u.start, gidStart: g.start, size: min(u.count, g.count), origin: .subIDFiles)
    }

    /// The gid base at the same offset as uid base `uidBase`.
    public func gidBase(forUID uidBase: Int64) -> Int64 { gidStart + (uidBase - uidStart) }

    /// The block `offset..<offset+length` of the source.
    func block(owner: String, offset: Int64, length: Int64) -> IDBlock {
        IDBlock(owner: owner, uid: (uidStart + offset)..<(uidStart + offset + length), gid: (gidStart + offset)..<(gidStart + offset + length))
    }

    /// "host ids A-B (…)" for messages.
    public var summary: String {
        let ids =
            uidStart == gidStart
            ? "host ids \(IDRanges.text(uidStart..<(uidStart + size)))"
            : "host uids \(IDRanges.text(uidStart..<(uidStart + size))) and gids \(IDRanges.text(gidStart..<(gidStart + size)))"
        return ids + (origin == .subIDFiles ? " (root's ranges in the subuid and subgid files)" : " (sysbox's default range)")
    }
}

/// Host ids taken by one container's own range, or by the shared map (`owner` empty).
public struct IDBlock: Sendable, Equatable {
    public var owner: String
    public var uid: Range<Int64>
    public var gid: Range<Int64>

    public init(owner: String, uid: Range<Int64>, gid: Range<Int64>) {
        self.owner = owner
        self.uid = uid
        self.gid = gid
    }

    public func overlaps(_ other: IDBlock) -> Bool { uid.overlaps(other.uid) || gid.overlaps(other.gid) }

    /// "container NAME's range A-B" or "the shared range A-B", for messages.
    public var summary: String {
        (owner.isEmpty ? "the shared range (security.idmap.isolated=false) " : "container \(owner)'s range ") + IDRanges.text(uid)
    }
}

/// Finds host id blocks for isolated maps: the first free block after the shared one, aligned to
/// 65536 ids from the start of the source, skipping every block another container has.
public enum IDMapAllocator {
    /// Blocks start at multiples of this offset from the start of the source.
    public static let alignment: Int64 = 65536
    /// The smallest map sysbox hands out: systemd and `nobody` (65534) need 65536 ids.
    public static let minimumSize: Int64 = 65536

    /// The ids a map of `size` ids takes in the source (rounded up to the alignment).
    public static func footprint(_ size: Int64) -> Int64 { IDRanges.alignUp(max(size, 1), alignment) }

    /// The ids the shared map takes at the start of the source: the largest size any container on the
    /// shared map has, rounded up, and at least 65536.
    public static func sharedExtent(sizes: [Int64]) -> Int64 { footprint(max(minimumSize, sizes.max() ?? 0)) }

    /// The uid base of the first free block of `size` ids in `source` after the shared extent, or nil
    /// when the source has no room left.
    public static func firstFree(size: Int64, source: IDMapSource, sharedExtent: Int64, taken: [IDBlock]) -> Int64? {
        var offset = IDRanges.alignUp(sharedExtent, alignment)
        while offset + size <= source.size {
            let candidate = source.block(owner: "", offset: offset, length: size)
            var next = offset
            for block in taken {
                if block.uid.overlaps(candidate.uid) { next = max(next, IDRanges.alignUp(block.uid.upperBound - source.uidStart, alignment)) }
                if block.gid.overlaps(candidate.gid) { next = max(next, IDRanges.alignUp(block.gid.upperBound - source.gidStart, alignment)) }
            }
            if next == offset { return source.uidStart + offset }
            offset = next
        }
        return nil
    }
}
