import CSysbox
import Foundation

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

    /// Progress of long steps (image builds): one updating line on a terminal, plain lines otherwise.
    static func progress(_ message: String) {
        if isatty(2) == 1 {
            FileHandle.standardError.write(Data("\r\u{1b}[K\(message)".utf8))
            if message.hasPrefix("built ") { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            FileHandle.standardError.write(Data("\(message)\n".utf8))
        }
    }
}

func sysboxCloseFrom(_ fd: Int32) -> Int32 { sysbox_close_from(fd) }
