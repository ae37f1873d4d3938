import Foundation

/// `pid starttime` files (init.pid, monitor.pid): they name one process even after pid reuse.
enum PidFile {
    /// `pid starttime` files name one process even after pid reuse.
    static func read(_ path: String) -> (pid: Int32, start: UInt64)? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { return nil }
        return (pid, start)
    }

    static func isAlive(_ entry: (pid: Int32, start: UInt64)?) -> Bool {
        guard let entry else { return false }
        return Host.startTime(of: entry.pid) == entry.start
    }
}
