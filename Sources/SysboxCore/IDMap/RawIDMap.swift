import Foundation

/// `raw.idmap`: host ids mapped into a container, in LXD's syntax. One entry a line:
/// `both HOST CONTAINER`, `uid HOST CONTAINER` or `gid HOST CONTAINER`, where each id may be an
/// inclusive range (`uid 50-60 500-510`; both sides the same length). Blank lines and lines starting
/// with `#` are ignored.
public enum RawIDMap {
    static let example = "e.g. both 1000 1000 or uid 50-60 500-510"

    /// Parses `raw.idmap` and checks the entries among themselves (no container id or host id mapped
    /// twice for a kind).
    /// - Throws: `ValueError` naming the line and the fix (the caller names the key).
    public static func parse(_ text: String) throws(ValueError) -> [IDMapEntry] {
        var out: [IDMapEntry] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            let at = "line \(number + 1)"
            guard fields.count == 3 else {
                throw ValueError("\(at): expected three fields, both|uid|gid HOST CONTAINER (\(example))")
            }
            let (isUID, isGID): (Bool, Bool)
            switch fields[0] {
            case "both": (isUID, isGID) = (true, true)
            case "uid": (isUID, isGID) = (true, false)
            case "gid": (isUID, isGID) = (false, true)
            default: throw ValueError("\(at): the first field must be both, uid or gid, not \(Names.display(String(fields[0]))) (\(example))")
            }
            let host = try range(fields[1], at: at, side: "host")
            let container = try range(fields[2], at: at, side: "container")
            guard host.count == container.count else {
                throw ValueError(
                    "\(at): the host range \(IDRanges.text(host)) has \(host.count) ids but the container range \(IDRanges.text(container)) has \(container.count); give both sides the same length"
                )
            }
            out.append(IDMapEntry(isUID: isUID, isGID: isGID, hostID: host.lowerBound, nsID: container.lowerBound, range: Int64(host.count)))
        }
        for kind in IDKind.allCases {
            let list = out.filter { $0.covers(kind) }
            for (i, a) in list.enumerated() {
                for b in list[(i + 1)...] {
                    if a.nsRange.overlaps(b.nsRange) {
                        throw ValueError(
                            "container \(kind)s \(IDRanges.text(a.nsRange)) and \(IDRanges.text(b.nsRange)) overlap; map each container id once")
                    }
                    if a.hostRange.overlaps(b.hostRange) {
                        throw ValueError("host \(kind)s \(IDRanges.text(a.hostRange)) and \(IDRanges.text(b.hostRange)) overlap; map each host id once")
                    }
                }
            }
        }
        return out
    }

    /// `ID` or `FIRST-LAST` (inclusive), within 0…`IDMap.maxID`.
    private static func range(_ field: Substring, at: String, side: String) throws(ValueError) -> Range<Int64> {
        let bounds = field.split(separator: "-", omittingEmptySubsequences: false)
        guard bounds.count == 1 || bounds.count == 2,
            bounds.allSatisfy({ !$0.isEmpty && $0.count <= 10 && $0.allSatisfy(\.isASCIIDigit) }),
            let first = Int64(bounds[0]), let last = Int64(bounds[bounds.count - 1])
        else {
            throw ValueError("\(at): the \(side) id \(Names.display(String(field))) is not an id or a range like 50-60 (\(example))")
        }
        guard first <= last else { throw ValueError("\(at): the \(side) range \(field) runs backwards; write it low-high") }
        guard last <= IDMap.maxID else { throw ValueError("\(at): the \(side) id \(last) is above the highest id \(IDMap.maxID)") }
        return first..<(last + 1)
    }

    /// Merges raw entries into `base` (a container's map of `size` ids from container id 0): the
    /// container ids a raw entry gives no longer map into the base range (the base entries are split
    /// around them) and the raw entries are added. The result is sorted by kind then container id.
    /// - Throws: `ValueError` when a raw container id is outside 0..<`size`, or a raw host id is one the
    ///   base map still maps.
    public static func merge(_ raw: [IDMapEntry], into base: IDMap, size: Int64) throws(ValueError) -> IDMap {
        for r in raw where r.nsRange.upperBound > size {
            throw ValueError(
                "container ids \(IDRanges.text(r.nsRange)) are outside the container's ids 0-\(size - 1); map container ids below \(size) or raise security.idmap.size")
        }
        var pieces: [IDMapEntry] = []
        for kind in IDKind.allCases {
            let holes = raw.filter { $0.covers(kind) }.map(\.nsRange)
            for entry in base.entries where entry.covers(kind) {
                var ranges = [entry.nsRange]
                for hole in holes { ranges = ranges.flatMap { IDRanges.subtract($0, hole) } }
                for r in ranges {
                    pieces.append(
                        IDMapEntry(
                            isUID: kind == .uid, isGID: kind == .gid, hostID: entry.hostID + (r.lowerBound - entry.nsID), nsID: r.lowerBound,
                            range: Int64(r.count)))
                }
            }
            for r in raw where r.covers(kind) {
                if let clash = pieces.first(where: { $0.covers(kind) && $0.hostRange.overlaps(r.hostRange) }) {
                    throw ValueError(
                        "host \(kind)s \(IDRanges.text(r.hostRange)) are already mapped by the container's own range (host \(IDRanges.text(clash.hostRange))); map host ids outside it"
                    )
                }
            }
        }
        let all = pieces + raw
        return IDMap(entries: all.sorted { a, b in (a.isUID ? 0 : 1, a.nsID, a.isGID ? 0 : 1) < (b.isUID ? 0 : 1, b.nsID, b.isGID ? 0 : 1) })
    }
}
