import ArgumentParser
import Foundation
import Logging
import SysboxCore

#if canImport(Glibc)
import Glibc
#endif

/// What every verb shares: opening the manager, reading input, writing output.
enum CLI {
    /// The manager of `$SYSBOX_DIR` (busy timeout `$SYSBOX_DB_TIMEOUT` seconds, default 10), after it
    /// finished or undid what killed commands left half-done (`recover`: every verb but the monitors,
    /// which only record a stop).
    static func manager(recover: Bool = true) throws -> Manager {
        let env = ProcessInfo.processInfo.environment
        try checkLogLevel(env)
        let dir = try Paths.stateDirectory(environment: env)
        var timeout = 10.0
        if let text = env["SYSBOX_DB_TIMEOUT"] {
            guard let t = Double(text), t >= 0 else {
                throw SysboxError(.invalidArgument, "SYSBOX_DB_TIMEOUT must be a number of seconds, got \(text)")
            }
            timeout = t
        }
        let manager = try Manager(stateDirectory: dir, dataDirectory: Paths.dataDirectory(environment: env), busyTimeout: timeout)
        if recover { try manager.recover() }
        return manager
    }

    /// Refuses a `SYSBOX_LOG` that names no log level (an empty one means the default, warnings).
    static func checkLogLevel(_ env: [String: String]) throws {
        guard let text = env["SYSBOX_LOG"], !text.isEmpty, Logger.Level(rawValue: text) == nil else { return }
        let levels = Logger.Level.allCases.map(\.rawValue)
        throw SysboxError(
            .invalidArgument, "SYSBOX_LOG is \(Names.quote(text)), not a log level\(levelHint(text, levels)); use one of \(levels.joined(separator: ", ")), or unset it")
    }

    private static func levelHint(_ text: String, _ levels: [String]) -> String {
        Suggest.closest(to: text, in: levels).map { " (did you mean \($0)?)" } ?? ""
    }

    /// `KEY=VALUE` arguments as pairs, in order.
    static func pairs(_ args: [String]) throws -> [(String, String)] {
        try args.map { arg in
            guard let eq = arg.firstIndex(of: "="), eq != arg.startIndex else {
                throw SysboxError(.invalidArgument, "expected KEY=VALUE, got \(Names.quote(arg))")
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

    /// Reads a file given on the command line; a missing file, a directory, an unreadable file and an
    /// empty file each get their own message.
    static func readFile(_ path: String, option: String = "--file") throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SysboxError(.io, "cannot read \(path): no such file; check the path given to \(option)")
        }
        if isDirectory.boolValue {
            throw SysboxError(.io, "cannot read \(path): it is a directory; give \(option) a YAML file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SysboxError(.io, "cannot read \(path): permission denied or not a regular file")
        }
        guard !data.isEmpty else {
            throw SysboxError(.invalidArgument, "\(path) is empty; put a profile in it, or leave out \(option) to create an empty profile")
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

    /// Writes text for people to standard output (no newline added): control characters other than
    /// line breaks are shown as escapes (`\x1b`), so stored text cannot drive the terminal.
    /// The names a start/stop/restart acts on: the given ones, or with `--all` every container whose
    /// status is `status` (LXD's `--all`; none is fine). Names and `--all` together, or neither, are a
    /// usage error (checked in run(): ArgumentParser reports a validate() error before an unknown option).
    static func namesOrAll(_ names: [String], all: Bool, manager: Manager, status: ContainerStatus) throws -> [String] {
        try namesOrAll(names, all: all, manager: manager, statuses: [status])
    }

    /// `namesOrAll` for any of several statuses (`stop --all`: running and frozen).
    static func namesOrAll(_ names: [String], all: Bool, manager: Manager, statuses: Set<ContainerStatus>) throws -> [String] {
        if all && !names.isEmpty { throw ValidationError("give container names or --all, not both") }
        if !all {
            if names.isEmpty { throw ValidationError("give at least one container name (or --all)") }
            return names
        }
        return try manager.listContainers().filter { statuses.contains($0.status) }.map(\.name)
    }

    static func out(_ text: String) {
        outRaw(TerminalText.escaped(text, keepNewlines: true))
    }

    /// Writes data for programs (a value from `get`, CSV) to standard output exactly as it is.
    static func outRaw(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// Prints rows as `format` asks: CSV is data and stays exact (a description is one quoted field);
    /// tables, JSON and YAML are shown with control characters escaped.
    static func printTable<T: Encodable>(_ format: OutputFormat, headers: [String], cells: [[TableCell]], objects: [T]) throws {
        let text = try format.render(headers: headers, cells: cells, objects: objects, width: tableWidth)
        if format.kind == .csv { outRaw(text) } else { out(text) }
    }

    /// Opens `$VISUAL`/`$EDITOR` (else `editor`, else `vi`) on `text`, returns the edited text. `check`
    /// validates it; on failure the error is shown and the editor re-opened until it passes or the
    /// user gives up (Ctrl+C, or an answer of "n"). Saving an empty file aborts the edit.
    ///
    /// The file lives in a private directory made with `mkdtemp` (mode 0700, the file 0600, created
    /// with `O_EXCL`), removed on return, on an error, and on SIGTERM, SIGHUP and SIGINT (Ctrl+C while
    /// the editor runs is left to the editor; sysbox stops when the editor exits).
    static func edit(_ text: String, check: (String) throws -> Void) throws -> String {
        let env = ProcessInfo.processInfo.environment
        let editor =
            env["VISUAL"].flatMap { $0.isEmpty ? nil : $0 } ?? env["EDITOR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (FileManager.default.isExecutableFile(atPath: "/usr/bin/editor") ? "/usr/bin/editor" : "vi")
        let file = try EditorFile()
        defer { file.remove() }
        var current = text
        while true {
            try file.write(current)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(editor) \"$1\"", "sh", file.path]
            EditorFile.editorRunning = 1
            try process.run()
            process.waitUntilExit()
            EditorFile.editorRunning = 0
            if EditorFile.interrupted != 0 { file.removeAndReraise(SIGINT) }
            guard process.terminationStatus == 0 else {
                throw SysboxError(.io, "editor \(editor) exited with status \(process.terminationStatus); nothing changed")
            }
            current = (try? String(contentsOfFile: file.path, encoding: .utf8)) ?? ""
            if ProfileYAML.isEmptyDocument(current) {
                throw SysboxError(.invalidArgument, "the edited file is empty; nothing changed")
            }
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

/// The temporary file `profile edit` hands to the editor: `edit.yaml` in a fresh private directory
/// (`mkdtemp`, 0700) under `$TMPDIR`, so no other user can read, replace or pre-create it. While it
/// exists, SIGTERM, SIGHUP and SIGINT remove it before sysbox stops.
final class EditorFile {
    let directory: String
    let path: String
    private var previous: [Int32: sighandler_t?] = [:]

    static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]
    // Read by the signal handler: plain C strings and flags, set before the handler is installed.
    nonisolated(unsafe) static var cleanupFile: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var cleanupDirectory: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) static var editorRunning: Int32 = 0
    nonisolated(unsafe) static var interrupted: Int32 = 0

    init() throws {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("sysbox-edit-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw SysboxError(
                .io, "cannot create a private temporary directory in \(NSTemporaryDirectory()): \(String(cString: strerror(errno))); set TMPDIR to a writable directory")
        }
        directory = String(cString: made)
        path = directory + "/edit.yaml"
        Self.cleanupFile = strdup(path)
        Self.cleanupDirectory = strdup(directory)
        Self.interrupted = 0
        Self.editorRunning = 0
        let handler: @convention(c) (Int32) -> Void = { signal in
            if signal == SIGINT && EditorFile.editorRunning != 0 {
                EditorFile.interrupted = 1  // the editor gets Ctrl+C too; stop once it exits
                return
            }
            if let file = EditorFile.cleanupFile { unlink(file) }
            if let dir = EditorFile.cleanupDirectory { rmdir(dir) }
            Glibc.signal(signal, SIG_DFL)
            raise(signal)
        }
        for sig in Self.signals { previous[sig] = signal(sig, handler) }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            remove()
            throw SysboxError(.io, "cannot create \(path): \(reason)")
        }
        close(fd)
    }

    /// Replaces the file's contents (the editor may have replaced the file itself: it is recreated).
    func write(_ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SysboxError(.io, "cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SysboxError(.io, "cannot write \(path): \(String(cString: strerror(errno)))") }
            written += n
        }
    }

    /// Removes the file and its directory (with anything the editor left there) and restores the
    /// previous signal handlers.
    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
        for (sig, handler) in previous { signal(sig, handler) }
        previous = [:]
        let file = Self.cleanupFile, dir = Self.cleanupDirectory
        Self.cleanupFile = nil
        Self.cleanupDirectory = nil
        free(file)
        free(dir)
    }

    /// After Ctrl+C while the editor ran: clean up, then stop as the signal would have.
    func removeAndReraise(_ sig: Int32) -> Never {
        remove()
        signal(sig, SIG_DFL)
        raise(sig)
        exit(130)
    }
}
