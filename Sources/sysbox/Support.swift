import ArgumentParser
import Foundation
import SysboxCore

#if canImport(Glibc)
import Glibc
#endif

/// What every verb shares: opening the manager, reading input, writing output.
enum CLI {
    /// The manager of `$SYSBOX_DIR` (busy timeout `$SYSBOX_DB_TIMEOUT` seconds, default 10).
    static func manager() throws -> Manager {
        let env = ProcessInfo.processInfo.environment
        let dir = try Paths.stateDirectory(environment: env)
        var timeout = 10.0
        if let text = env["SYSBOX_DB_TIMEOUT"] {
            guard let t = Double(text), t >= 0 else {
                throw SysboxError(.invalidArgument, "SYSBOX_DB_TIMEOUT must be a number of seconds, got \(text)")
            }
            timeout = t
        }
        return try Manager(stateDirectory: dir, dataDirectory: Paths.dataDirectory(environment: env), busyTimeout: timeout)
    }

    /// `KEY=VALUE` arguments as pairs, in order.
    static func pairs(_ args: [String]) throws -> [(String, String)] {
        try args.map { arg in
            guard let eq = arg.firstIndex(of: "="), eq != arg.startIndex else {
                throw SysboxError(.invalidArgument, "expected KEY=VALUE, got \"\(arg)\"")
            }
            return (String(arg[..<eq]), String(arg[arg.index(after: eq)...]))
        }
    }

    /// `set NAME KEY=VALUE...`, or the older `set NAME KEY VALUE` form LXD also accepts.
    static func setArguments(_ args: [String]) throws -> [(String, String)] {
        if args.count == 2, !args[0].contains("=") { return [(args[0], args[1])] }
        return try pairs(args)
    }

    static var stdinIsTerminal: Bool { isatty(0) == 1 }

    /// All of standard input as UTF-8 text.
    static func readStandardInput() throws -> String {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        guard let text = String(data: data, encoding: .utf8) else {
            throw SysboxError(.invalidArgument, "<stdin>:1: input is not UTF-8 text")
        }
        return text
    }

    /// Reads a file given on the command line.
    static func readFile(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SysboxError(.io, "cannot read \(path): no such file or not readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw SysboxError(.invalidArgument, "\(path):1: file is not UTF-8 text")
        }
        return text
    }

    /// The width tables must fit: `$COLUMNS`, else the terminal's, else none when not a terminal.
    static var tableWidth: Int? {
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(columns), n > 0 { return n }
        var size = winsize()
        if isatty(1) == 1, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return isatty(1) == 1 ? 80 : nil
    }

    /// Writes to standard output without a trailing newline added.
    static func out(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Opens `$VISUAL`/`$EDITOR` (else `editor`, else `vi`) on `text`, returns the edited text. `check`
    /// validates it; on failure the error is shown and the editor re-opened until it passes or the
    /// user gives up (Ctrl+C, or an empty answer of "n").
    static func edit(_ text: String, check: (String) throws -> Void) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let editor = env["VISUAL"].flatMap { $0.isEmpty ? nil : $0 } ?? env["EDITOR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/editor") ? "/usr/bin/editor" : "vi")
        let path = NSTemporaryDirectory() + "sysbox-edit-\(getpid()).yaml"
        defer { unlink(path) }
        var current = text
        while true {
            guard FileManager.default.createFile(atPath: path, contents: Data(current.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw SysboxError(.io, "cannot write \(path)")
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(editor) \"$1\"", "sh", path]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw SysboxError(.io, "editor \(editor) exited with status \(process.terminationStatus); nothing changed")
            }
            current = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            do {
                try check(current)
                return current
            } catch {
                FileHandle.standardError.write(Data("Error: \(error)\nPress Enter to open the editor again, or type n and Enter to abort: ".utf8))
                let answer = readLine() ?? "n"
                if answer.lowercased().hasPrefix("n") { throw SysboxError(.invalidArgument, "edit aborted; nothing changed") }
            }
        }
    }
}
