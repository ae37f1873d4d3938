import Foundation

/// Parsers for config values. Each returns the parsed value or throws `ValueError` with a message that
/// says what is expected; the caller adds which key it was.
public struct ValueError: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

public enum Values {
    /// `true/false`, also `1/0`, `yes/no`, `on/off` in any case (what Incus accepts).
    public static func bool(_ s: String) throws(ValueError) -> Bool {
        switch s.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ValueError(boolExpected)
        }
    }

    /// What a boolean may be, for messages.
    public static let boolExpected = "expected true or false (also yes/no, on/off, 1/0)"

    /// A decimal integer within `range`: digits with an optional leading `-` (no `+`, no spaces).
    public static func integer(_ s: String, in range: ClosedRange<Int64> = Int64.min...Int64.max) throws(ValueError) -> Int64 {
        let digits = s.hasPrefix("-") ? s.dropFirst() : Substring(s)
        let span = range == Int64.min...Int64.max ? "" : " from \(range.lowerBound) to \(range.upperBound)"
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else {
            throw ValueError("expected an integer\(span), written with digits only (e.g. 500)")
        }
        guard let v = Int64(s), range.contains(v) else {
            throw ValueError("\(s) is out of range; expected an integer\(span.isEmpty ? " from \(Int64.min) to \(Int64.max)" : span)")
        }
        return v
    }

    /// `limits.cpu`: a count of CPUs, or a set of CPU ids to pin.
    public enum CPULimit: Equatable, Sendable {
        case count(Int)
        case set([Int])
    }

    /// `limits.cpu`: `2` (a count) or a set like `0-1`, `0,2`, `0-3,7` (pinned CPU ids, sorted, unique).
    /// A single pinned CPU is written `1-1`, as in LXD.
    public static func cpu(_ s: String) throws(ValueError) -> CPULimit {
        let expected = "expected a CPU count like 2, or a CPU set like 0-1 or 0,2-3"
        if !s.isEmpty, s.allSatisfy(\.isASCIIDigit) {
            guard let n = Int(s), n >= 1, n <= 8192 else { throw ValueError("CPU count must be from 1 to 8192") }
            return .count(n)
        }
        var ids = Set<Int>()
        for part in s.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 1 || bounds.count == 2,
                bounds.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }),
                let lo = Int(bounds[0]), let hi = Int(bounds[bounds.count - 1])
            else {
                throw ValueError(expected)
            }
            guard lo <= hi else { throw ValueError("CPU range \(part) runs backwards") }
            guard hi < 8192 else { throw ValueError("CPU id \(hi) is out of range (0-8191)") }
            ids.formUnion(lo...hi)
        }
        return .set(ids.sorted())
    }

    /// `limits.memory`: bytes or a share of the host's memory.
    public enum MemoryLimit: Equatable, Sendable {
        case bytes(UInt64)
        case percent(Int)
    }

    static let byteUnits: [(String, UInt64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40), ("PiB", 1 << 50), ("EiB", 1 << 60),
        ("kB", 1_000), ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("PB", 1_000_000_000_000_000), ("EB", 1_000_000_000_000_000_000), ("B", 1)
    ]

    /// A byte size: `1073741824`, `512MiB`, `1GiB`, `1.5GB`, `64kB` (binary and decimal suffixes, as LXD).
    /// A fraction is accepted only when it comes to a whole number of bytes (`1.5GiB`, not `1.5B` or
    /// `1.0000001MiB`); the arithmetic is exact.
    public static func bytes(_ s: String) throws(ValueError) -> UInt64 {
        let expected = "expected a size like 512MiB, 2GiB or 1073741824"
        var number = Substring(s)
        var multiplier: UInt64 = 1
        for (suffix, m) in byteUnits where s.hasSuffix(suffix) {
            number = s.dropLast(suffix.count)
            multiplier = m
            break
        }
        guard !number.isEmpty, number.allSatisfy({ $0.isASCIIDigit || $0 == "." }),
            number.filter({ $0 == "." }).count <= 1, number.first != ".", number.last != "."
        else {
            throw ValueError(expected)
        }
        let parts = number.split(separator: ".")
        guard let whole = UInt64(parts[0]) else { throw ValueError("size \(s) is out of range (sizes must be under 16EiB)") }
        var (total, overflow) = whole.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw ValueError("size \(s) is out of range (sizes must be under 16EiB)") }
        if parts.count == 2 {
            // fraction × multiplier / 10^digits, exactly: it must leave no remainder.
            let trimmed = String(parts[1].reversed().drop { $0 == "0" }.reversed())
            guard trimmed.count <= 18 else { throw ValueError("size \(s) is not a whole number of bytes") }
            if !trimmed.isEmpty, let fraction = UInt64(trimmed) {
                var scale: UInt64 = 1
                for _ in 0..<trimmed.count { scale *= 10 }
                let (quotient, remainder) = scale.dividingFullWidth(multiplier.multipliedFullWidth(by: fraction))
                guard remainder == 0 else {
                    throw ValueError("size \(s) is not a whole number of bytes; use a whole number or a smaller unit")
                }
                (total, overflow) = total.addingReportingOverflow(quotient)
                guard !overflow else { throw ValueError("size \(s) is out of range (sizes must be under 16EiB)") }
            }
        }
        return total
    }

    /// `limits.memory`: a byte size (at least 1 MiB) or `N%` of host memory (1–100).
    public static func memory(_ s: String) throws(ValueError) -> MemoryLimit {
        if s.hasSuffix("%") {
            let digits = s.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), let p = Int(digits), (1...100).contains(p) else {
                throw ValueError("expected a percentage from 1% to 100%")
            }
            return .percent(p)
        }
        let n: UInt64
        do { n = try bytes(s) } catch {
            if error.message.hasPrefix("size ") { throw error }
            throw ValueError("expected a size like 512MiB, 2GiB or a percentage like 50%")
        }
        guard n >= 1 << 20 else { throw ValueError("at least 1MiB is needed") }
        return .bytes(n)
    }

    /// The largest number each `snapshots.expiry` unit takes: 1000 years' worth.
    static let expiryLimits: [Character: Int] = ["M": 525_960_000, "H": 8_766_000, "d": 365_250, "w": 52_178, "m": 12_000, "y": 1_000]

    /// `snapshots.expiry`: a duration like `1M 2H 3d 4w 5m 6y` (minutes, hours, days, weeks, months,
    /// years; parts separated by spaces), each part at most 1000 years. Returns the parts in order.
    public static func expiry(_ s: String) throws(ValueError) -> [(Int, Character)] {
        let expected = "expected a duration like 2d or 1w 3d (units: M minutes, H hours, d days, w weeks, m months, y years)"
        var parts: [(Int, Character)] = []
        for token in s.split(separator: " ") {
            if token.hasPrefix("-") {
                throw ValueError("\(token) is negative; an expiry counts forward from now: give e.g. 2d")
            }
            guard let unit = token.last, let limit = expiryLimits[unit] else { throw ValueError(expected) }
            let digits = token.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { throw ValueError(expected) }
            guard let n = Int(digits), n <= limit else {
                throw ValueError("\(token) is out of range; at most \(limit)\(unit)\(unit == "y" ? "" : " (1000 years)")")
            }
            parts.append((n, unit))
        }
        guard !parts.isEmpty else { throw ValueError(expected) }
        return parts
    }

    /// `snapshots.pattern`: a snapshot name where `%d` (at most once) stands for the next number (`snap%d`).
    public static func snapshotPattern(_ s: String) throws(ValueError) {
        if s.components(separatedBy: "%d").count > 2 {
            throw ValueError("use %d at most once (it stands for the snapshot's number)")
        }
        let sample = s.replacingOccurrences(of: "%d", with: "0")
        if let problem = Names.problem(sample, as: .snapshot) {
            throw ValueError("the names it makes would be invalid: \(problem)")
        }
    }

    /// A MAC address `xx:xx:xx:xx:xx:xx`, unicast and not all zero. Returns it lowercased.
    public static func mac(_ s: String) throws(ValueError) -> String {
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy { $0.isASCII && $0.isHexDigit } }),
            let first = UInt8(parts[0], radix: 16)
        else {
            throw ValueError("expected a MAC address like 00:16:3e:12:34:56")
        }
        guard first & 1 == 0 else { throw ValueError("a multicast MAC address cannot be used for a NIC") }
        guard parts.contains(where: { $0 != "00" }) else { throw ValueError("the all-zero MAC address cannot be used") }
        return s.lowercased()
    }

    /// A dotted-quad IPv4 address; returns its four octets.
    public static func ipv4(_ s: String) throws(ValueError) -> [UInt8] {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw ValueError("expected an IPv4 address like 10.0.3.10") }
        var octets: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCIIDigit), let v = UInt8(p),
                p == "0" || !p.hasPrefix("0")
            else {
                throw ValueError("expected an IPv4 address like 10.0.3.10")
            }
            octets.append(v)
        }
        return octets
    }

    /// A host address for a NIC: IPv4, not 0.0.0.0, loopback, multicast or broadcast.
    public static func hostIPv4(_ s: String) throws(ValueError) -> [UInt8] {
        let o = try ipv4(s)
        if o[0] == 0 || o[0] == 127 || o[0] >= 224 {
            throw ValueError("\(s) cannot be a container's address (it is a reserved, loopback or multicast address)")
        }
        return o
    }

    /// A kernel network interface name: 1–15 characters, no `/`, `:`, whitespace, not `.` or `..`.
    public static func interfaceName(_ s: String) throws(ValueError) {
        guard !s.isEmpty, s.utf8.count <= 15 else { throw ValueError("an interface name has 1 to 15 characters") }
        guard s != "lo" else { throw ValueError("lo is the container's loopback interface; pick another name (e.g. eth1)") }
        guard s != ".", s != "..",
            s.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw ValueError("an interface name uses ASCII letters, digits, '-', '_' and '.' (e.g. eth0)")
        }
    }

    /// An absolute path with no `..` components, control characters or line breaks; returns it with
    /// duplicate `/` removed.
    public static func absolutePath(_ s: String) throws(ValueError) -> String {
        guard s.hasPrefix("/") else { throw ValueError("expected an absolute path (starting with /)") }
        if let found = Names.controlCharacter(in: s) {
            throw ValueError("a path cannot contain control characters or line breaks (found \(found))")
        }
        let parts = s.split(separator: "/")
        guard !parts.contains("..") else { throw ValueError("a path cannot contain '..'") }
        return "/" + parts.filter { $0 != "." }.joined(separator: "/")
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

// MARK: More limits (issue 15 item 6)

extension Values {
    /// `limits.cpu.allowance`: a hard cap on the container's CPU time, as CFS bandwidth (quota per period).
    public enum CPUAllowance: Equatable, Sendable {
        /// `25%`: a share of one CPU's time (100% is one whole CPU, 150% one and a half), over a 100 ms period.
        case percent(Int)
        /// `25ms/100ms`: this much CPU time (quota) in every period, both in milliseconds.
        case time(quotaMS: Int, periodMS: Int)

        /// CFS quota and period in microseconds (cpu.cfs_quota_us/cpu.cfs_period_us, cpu.max).
        public var quotaAndPeriod: (quota: Int64, period: Int64) {
            switch self {
            case let .percent(p): (Int64(p) * 1_000, 100_000)
            case let .time(q, p): (Int64(q) * 1_000, Int64(p) * 1_000)
            }
        }
    }

    /// `limits.cpu.allowance`: `N%` (1% to 819200%, of one CPU) or `Qms/Pms` (a period of 1 to 1000 ms, the
    /// kernel's range; a quota of at least 1 ms).
    public static func cpuAllowance(_ s: String) throws(ValueError) -> CPUAllowance {
        let expected = "expected a share of one CPU like 50% or a time slice like 25ms/100ms"
        if s.hasSuffix("%") {
            let digits = s.dropLast()
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { throw ValueError(expected) }
            guard let p = Int(digits), (1...819_200).contains(p) else {
                throw ValueError("\(s) is out of range; expected 1% to 819200% (100% is one CPU)")
            }
            return .percent(p)
        }
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        func milliseconds(_ part: Substring) throws(ValueError) -> Int {
            guard part.hasSuffix("ms") else { throw ValueError(expected + " (times in ms)") }
            let digits = part.dropLast(2)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { throw ValueError(expected) }
            guard let n = Int(digits), n <= 100_000_000 else { throw ValueError("\(part) is out of range") }
            return n
        }
        guard parts.count == 2 else { throw ValueError(expected) }
        let quota = try milliseconds(parts[0]), period = try milliseconds(parts[1])
        guard (1...1_000).contains(period) else { throw ValueError("the period \(parts[1]) is out of range; the kernel takes 1ms to 1000ms") }
        guard quota >= 1 else { throw ValueError("the quota \(parts[0]) is out of range; at least 1ms") }
        return .time(quotaMS: quota, periodMS: period)
    }

    /// `limits.memory.enforce`: `hard` (the default: the kernel reclaims, then kills, at the limit) or
    /// `soft` (the limit applies only when the host runs short of memory).
    public static func memoryEnforce(_ s: String) throws(ValueError) -> Bool {
        switch s {
        case "hard": return false
        case "soft": return true
        default: throw ValueError("expected hard or soft")
        }
    }

    /// A disk device's `limits.read`, `limits.write` or `limits.max`.
    public enum IOLimit: Equatable, Sendable {
        /// Bytes per second.
        case bytes(UInt64)
        /// I/O operations per second.
        case iops(UInt64)
    }

    /// `10MB`, `1GiB`, `1048576` (bytes per second; `/s` may follow) or `100iops`; at least 1.
    public static func ioLimit(_ s: String) throws(ValueError) -> IOLimit {
        let expected = "expected bytes per second like 10MB or 1GiB, or operations per second like 100iops"
        if s.hasSuffix("iops") {
            let digits = s.dropLast(4)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit) else { throw ValueError(expected) }
            guard let n = UInt64(digits), n >= 1, n < 1 << 53 else { throw ValueError("\(s) is out of range; expected 1iops or more") }
            return .iops(n)
        }
        let text = s.hasSuffix("/s") ? String(s.dropLast(2)) : s
        let n: UInt64
        do { n = try bytes(text) } catch {
            if error.message.hasPrefix("size ") { throw error }
            throw ValueError(expected)
        }
        guard n >= 1 else { throw ValueError("0 is no limit; unset the key instead, or give at least 1B") }
        return .bytes(n)
    }

    /// A `limits.kernel.*` value: `unlimited`, `N`, or `SOFT:HARD` (each a number or `unlimited`; soft at
    /// most hard). nil stands for unlimited (RLIM_INFINITY).
    public static func rlimit(_ s: String) throws(ValueError) -> (soft: UInt64?, hard: UInt64?) {
        let expected = "expected a number, unlimited, or soft:hard (e.g. 1024:4096)"
        func one(_ part: Substring) throws(ValueError) -> UInt64? {
            if part == "unlimited" { return nil }
            guard !part.isEmpty, part.allSatisfy(\.isASCIIDigit) else { throw ValueError(expected) }
            guard let n = UInt64(part), n < UInt64.max else { throw ValueError("\(part) is out of range; use unlimited") }
            return n
        }
        let parts = s.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { throw ValueError(expected) }
        let soft = try one(parts[0]), hard = try one(parts[parts.count - 1])
        if let hard, soft.map({ $0 > hard }) ?? true {
            throw ValueError("the soft limit \(parts[0]) is above the hard limit \(hard); the soft limit must not exceed the hard one")
        }
        return (soft, hard)
    }
}
