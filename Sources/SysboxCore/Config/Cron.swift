import Foundation

/// A parsed `snapshots.schedule`: one or more cron entries (`m h dom mon dow`) or `@hourly`-style
/// shorthands, separated by `, ` as in Incus. Each field is expanded to the set of values it matches.
public struct CronSchedule: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var minutes: Set<Int>
        public var hours: Set<Int>
        public var daysOfMonth: Set<Int>
        public var months: Set<Int>
        /// 0–6, Sunday is 0 (7 is accepted in input and folded into 0).
        public var daysOfWeek: Set<Int>
        /// Whether day-of-month / day-of-week were `*` (cron ORs the two when both are restricted).
        public var anyDayOfMonth: Bool
        public var anyDayOfWeek: Bool
    }

    public var entries: [Entry]
    /// `@startup`: take a snapshot when the container starts.
    public var atStartup: Bool

    static let shorthands: [String: String] = [
        "@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
        "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"
    ]
    static let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    static let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Parses a schedule; throws `ValueError` naming the bad entry or field. Entries are separated by
    /// `, ` (a comma and a space, as in Incus), so a comma without a space stays inside a field:
    /// `0,30 * * * *` is one entry, `@daily, @hourly` two.
    public static func parse(_ text: String) throws(ValueError) -> CronSchedule {
        var schedule = CronSchedule(entries: [], atStartup: false)
        let expected = "expected a cron expression like '0 3 * * *' or @hourly, @daily, @weekly, @monthly, @yearly, @startup; separate several with ', '"
        guard !text.isEmpty else { throw ValueError(expected) }
        if let first = text.first, let last = text.last, first.isWhitespace || last.isWhitespace {
            throw ValueError("remove the spaces around the schedule")
        }
        let items = text.components(separatedBy: ", ")
        for item in items {
            guard !item.isEmpty, let first = item.first, let last = item.last, !first.isWhitespace, !last.isWhitespace else {
                throw ValueError("an empty entry or extra spaces between entries; separate entries with exactly ', ' (a comma and one space)")
            }
            if item == "@startup" {
                schedule.atStartup = true
                continue
            }
            if item.hasPrefix("@"), item.contains(",") {
                throw ValueError("'\(item)' is not one entry; separate entries with ', ' (a comma and a space)")
            }
            var expression = item
            if item.hasPrefix("@") {
                guard let expanded = shorthands[item] else {
                    throw ValueError("unknown shorthand \(item)\(Suggest.hint(item, Array(shorthands.keys) + ["@startup"]))")
                }
                expression = expanded
            }
            schedule.entries.append(try entry(expression))
        }
        return schedule
    }

    private static func entry(_ expression: String) throws(ValueError) -> Entry {
        if expression.contains("@") {
            throw ValueError("'\(expression)' is not one entry; separate entries with ', ' (a comma and a space)")
        }
        let fields = expression.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard fields.count == 5 else {
            throw ValueError("'\(expression)' has \(fields.count) fields; cron needs 5: minute hour day-of-month month day-of-week")
        }
        let dow = try field(fields[4], name: "day-of-week", range: 0...7, names: dayNames)
        return Entry(
            minutes: try field(fields[0], name: "minute", range: 0...59, names: nil),
            hours: try field(fields[1], name: "hour", range: 0...23, names: nil),
            daysOfMonth: try field(fields[2], name: "day-of-month", range: 1...31, names: nil),
            months: try field(fields[3], name: "month", range: 1...12, names: monthNames),
            daysOfWeek: Set(dow.map { $0 == 7 ? 0 : $0 }),
            anyDayOfMonth: fields[2] == "*",
            anyDayOfWeek: fields[4] == "*")
    }

    /// One field: `*`, `*/n`, `a`, `a-b`, `a-b/n`, lists of those; names (jan, mon) where allowed.
    private static func field(_ text: String, name: String, range: ClosedRange<Int>, names: [String]?) throws(ValueError) -> Set<Int> {
        var out = Set<Int>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw ValueError("bad \(name) field '\(text)'") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), s >= 1 else { throw ValueError("bad step in \(name) field '\(text)'") }
                step = s
            }
            var lo = range.lowerBound, hi = range.upperBound
            if pieces[0] != "*" {
                let bounds = pieces[0].split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw ValueError("bad \(name) field '\(text)'") }
                lo = try value(String(bounds[0]), name: name, range: range, names: names)
                hi =
                    bounds.count == 2
                    ? try value(String(bounds[1]), name: name, range: range, names: names)
                    : (pieces.count == 2 ? range.upperBound : lo)
                guard lo <= hi else { throw ValueError("\(name) range \(pieces[0]) runs backwards") }
            }
            out.formUnion(stride(from: lo, through: hi, by: step))
        }
        return out
    }

    private static func value(_ text: String, name: String, range: ClosedRange<Int>, names: [String]?) throws(ValueError) -> Int {
        if let names, let i = names.firstIndex(of: text.lowercased()) {
            return range.lowerBound == 1 ? i + 1 : i
        }
        guard let v = Int(text), range.contains(v) else {
            throw ValueError("\(name) '\(text)' is out of range \(range.lowerBound)-\(range.upperBound)")
        }
        return v
    }
}

extension CronSchedule.Entry {
    /// Whether the entry fires at this minute (cron's rule: when both day fields are restricted, either
    /// one matching is enough).
    func matches(_ c: DateComponents) -> Bool {
        guard let minute = c.minute, let hour = c.hour, let day = c.day, let month = c.month, let weekday = c.weekday else { return false }
        guard minutes.contains(minute), hours.contains(hour), months.contains(month) else { return false }
        let dom = daysOfMonth.contains(day), dow = daysOfWeek.contains(weekday - 1)
        if anyDayOfMonth && anyDayOfWeek { return true }
        if anyDayOfMonth { return dow }
        if anyDayOfWeek { return dom }
        return dom || dow
    }
}

extension CronSchedule {
    /// Whether the schedule fires at some minute after `start` up to and including `end` (in
    /// `timeZone`); at most the last 24 hours are looked at (a runner that was off longer takes one
    /// snapshot, not one per missed slot).
    public func fires(after start: Date, upTo end: Date, timeZone: TimeZone = .current) -> Bool {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let from = max(start, end.addingTimeInterval(-86_400))
        // Whole minutes: the first one after `from`, up to `end`.
        var t = (from.timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        while t <= end.timeIntervalSince1970 {
            let c = calendar.dateComponents([.minute, .hour, .day, .month, .weekday], from: Date(timeIntervalSince1970: t))
            if entries.contains(where: { $0.matches(c) }) { return true }
            t += 60
        }
        return false
    }
}
