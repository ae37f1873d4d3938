import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Running host programs: a tool to completion, or a detached child (posix_spawn).
extension Host {
    /// Runs `args[0]` (searched in PATH) with the rest as arguments; returns stdout.
    /// - Throws: `SysboxError(.io)` with the program's stderr when it exits non-zero.
    @discardableResult
    static func run(_ args: [String], what: String, stdin: FileHandle? = nil, errorLine: (String) -> Bool = { _ in true }) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin { process.standardInput = stdin } else { process.standardInput = FileHandle.nullDevice }
        do { try process.run() } catch {
            throw SysboxError(.io, "\(what): cannot run \(args[0]): \(error.localizedDescription)", cause: error)
        }
        // Read both pipes fully before waiting so a large output never blocks the child.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: errData, as: UTF8.self).split(separator: "\n").map(String.init).last(where: errorLine) ?? ""
            throw SysboxError(.io, "\(what): \(args[0]) exited with status \(process.terminationStatus)\(message.isEmpty ? "" : ": \(message)")")
        }
        return String(decoding: outData, as: UTF8.self)
    }

    /// posix_spawn of `program` with an empty signal mask and every signal at its default (the caller's
    /// blocked signals and ignored SIGPIPE are not inherited), optionally in a new session
    /// (POSIX_SPAWN_SETSID, 0x80 in glibc). `files` adds the child's stdio set-up.
    /// - Returns: the pid, or the error number posix_spawn returned, negated.
    static func spawn(
        _ program: String, arguments: [String], environment: [String], newSession: Bool = false,
        files: (inout posix_spawn_file_actions_t) -> Void
    ) -> pid_t {
        let c = CStrings()
        let argv = c.array([program] + arguments)
        let envp = c.array(environment)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        files(&actions)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (newSession ? 0x80 : 0)))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, program, &actions, &attr, argv, envp)
        return rc == 0 ? pid : -rc
    }
}
