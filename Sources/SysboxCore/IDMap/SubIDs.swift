import Foundation

/// A range of subordinate ids from `/etc/subuid` or `/etc/subgid`: host ids `start..<start+count`.
public struct SubIDRange: Sendable, Equatable {
    public var start: Int64
    public var count: Int64

    public init(start: Int64, count: Int64) {
        self.start = start
        self.count = count
    }
}

/// Where the subordinate id files are (injectable for tests).
public struct SubIDFiles: Sendable, Equatable {
    public var subuid: String
    public var subgid: String

    public init(subuid: String, subgid: String) {
        self.subuid = subuid
        self.subgid = subgid
    }

    /// `/etc/subuid` and `/etc/subgid`.
    public static let system = SubIDFiles(subuid: "/etc/subuid", subgid: "/etc/subgid")
}

/// `/etc/subuid` and `/etc/subgid` (shadow-utils' `NAME:START:COUNT` lines): the ranges given to root.
public enum SubIDs {
    /// Root's ranges in the text of a subuid/subgid file, in file order: lines whose owner is `root` or
    /// `0`. Malformed lines, comments and ranges past the highest id are skipped (as shadow-utils does).
    public static func rootRanges(_ text: String) -> [SubIDRange] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.trimmingCharacters(in: .whitespaces).split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0] == "root" || fields[0] == "0",
                fields[1].allSatisfy(\.isASCIIDigit), fields[2].allSatisfy(\.isASCIIDigit),
                let start = Int64(fields[1]), let count = Int64(fields[2]), count > 0, start + count - 1 <= IDMap.maxID
            else { return nil }
            return SubIDRange(start: start, count: count)
        }
    }

    /// Root's ranges in the file at `path` (`read(2)`); none when it is missing or unreadable.
    public static func rootRanges(path: String) -> [SubIDRange] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return rootRanges(String(decoding: data, as: UTF8.self))
    }

    /// The first of `ranges` with at least `minimum` ids.
    public static func firstLargeEnough(_ ranges: [SubIDRange], minimum: Int64) -> SubIDRange? {
        ranges.first { $0.count >= minimum }
    }
}
