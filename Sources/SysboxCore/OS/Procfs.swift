import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What /proc says about a process.
extension Host {
    /// The start time of a process (field 22 of /proc/PID/stat, in clock ticks since boot), or nil when
    /// there is no such process. A pid plus its start time names one process even after pid reuse.
    static func startTime(of pid: Int32) -> UInt64? {
        guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After "comm)" come field 3 (state) …; field 22 is index 19 here. A zombie (Z) or dead (X)
        // process is no longer running, whatever its pid file says.
        guard fields.count > 19, fields[0] != "Z", fields[0] != "X" else { return nil }
        return UInt64(fields[19])
    }
}
