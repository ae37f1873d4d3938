import CSysbox
import Foundation
import SysboxCore

/// Small CLI helpers for the runtime verbs (kept apart from Support.swift).
extension CLI {
    /// "Warning: …" on stderr.
    static func warn(_ message: String) {
        FileHandle.standardError.write(Data("Warning: \(message)\n".utf8))
    }

    /// "Note: …" on stderr: what a command did not do now.
    static func note(_ message: String) {
        FileHandle.standardError.write(Data("Note: \(message)\n".utf8))
    }

    /// "Error: …" on stderr (for errors that carry their own exit code).
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
    }

    /// Runs `body` with `OperationProgress.sink` bound to `progress` when standard error is a terminal
    /// (copies report how far they are); otherwise nothing is measured.
    static func withProgress<T>(_ body: () throws -> T) rethrows -> T {
        guard isatty(2) == 1 else { return try body() }
        return try OperationProgress.$sink.withValue({ message in CLI.progress(message) }) { try body() }
    }

    /// Progress of long steps (image builds): one line updated in place on a terminal (cut to its
    /// width); otherwise nothing but the final line (`built …`).
    static func progress(_ message: String) {
        if isatty(2) == 1 {
            var ws = winsize()
            let width = ioctl(2, UInt(TIOCGWINSZ), &ws) == 0 && ws.ws_col > 1 ? Int(ws.ws_col) - 1 : 79
            let shown = message.count > width ? String(message.prefix(width - 1)) + "…" : message
            FileHandle.standardError.write(Data("\r\u{1b}[K\(message.hasPrefix("built ") ? message : shown)".utf8))
            if message.hasPrefix("built ") { FileHandle.standardError.write(Data("\n".utf8)) }
        } else if message.hasPrefix("built ") {
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
    }
}

func sysboxCloseFrom(_ fd: Int32) -> Int32 { sysbox_close_from(fd) }
