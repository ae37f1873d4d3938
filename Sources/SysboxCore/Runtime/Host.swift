import Foundation
import CSysbox

#if canImport(Glibc)
import Glibc
#endif

/// Small host helpers: running a program, errno text, files written atomically.
enum Host {
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

    /// "ENOENT (No such file or directory)"
    static func errnoText(_ code: Int32) -> String {
        "\(errnoName(code)) (\(String(cString: strerror(code))))"
    }

    static func errnoName(_ code: Int32) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", E2BIG: "E2BIG",
            ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
            EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV",
            ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENOSPC: "ENOSPC", EROFS: "EROFS",
            EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG", ENOSYS: "ENOSYS", ELOOP: "ELOOP", ENOTEMPTY: "ENOTEMPTY",
            EPROTO: "EPROTO", EOPNOTSUPP: "EOPNOTSUPP", ETXTBSY: "ETXTBSY"
        ]
        return names[code] ?? "errno \(code)"
    }

    /// One line for any error: a `SysboxError`'s message, or for Foundation's file errors the POSIX errno
    /// underneath ("ENOSPC (No space left on device)") with the file it concerns.
    static func describe(_ error: Error) -> String {
        if let e = error as? SysboxError { return e.message }
        if let c = error as? CocoaError {
            let file = (c.userInfo["NSDestinationFilePath"] as? String) ?? c.filePath
            if let posix = c.underlying as? POSIXError {
                return (file.map { "\($0): " } ?? "") + errnoText(posix.code.rawValue)
            }
            if let ns = c.underlying.map({ $0 as NSError }), ns.domain == NSPOSIXErrorDomain {
                return (file.map { "\($0): " } ?? "") + errnoText(Int32(ns.code))
            }
        }
        if let posix = error as? POSIXError { return errnoText(posix.code.rawValue) }
        let ns = error as NSError
        var underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError
        if ns.domain == NSPOSIXErrorDomain { underlying = ns }
        let file = (ns.userInfo["NSDestinationFilePath"] as? String) ?? (ns.userInfo[NSFilePathErrorKey] as? String)
        if let posix = underlying, posix.domain == NSPOSIXErrorDomain {
            return (file.map { "\($0): " } ?? "") + errnoText(Int32(posix.code))
        }
        return ns.localizedDescription
    }

    /// Writes `text` to `path` through a temporary file (created with `mode`, never through a symlink)
    /// and rename(2), so readers see the old or the new content, never half a file. `durable`: fsync
    /// before the rename, so the new content survives a power loss; files that only describe live
    /// processes (pid files, the exec cache, the start plan) pass false: they mean nothing after a
    /// reboot, and a start pays each fsync (~1 ms here).
    static func writeAtomically(_ text: String, to path: String, mode: mode_t = 0o644, durable: Bool = true) throws {
        let tmp = path + ".tmp-\(getpid())"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw SysboxError(.io, "cannot write \(tmp): \(errnoText(errno))") }
        var failure: Int32 = 0
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count && failure == 0 {
            let n = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress.map { $0 + done }, bytes.count - done) }
            if n > 0 { done += n } else if n < 0 && errno != EINTR { failure = errno } else if n == 0 { failure = EIO }
        }
        // The mode exactly (not narrowed by the umask), then the data on disk when asked.
        if failure == 0 && fchmod(fd, mode) != 0 { failure = errno }
        if failure == 0 && durable && fsync(fd) != 0 { failure = errno }
        close(fd)
        guard failure == 0 else {
            unlink(tmp)
            throw SysboxError(.io, "cannot write \(tmp): \(errnoText(failure))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw SysboxError(.io, "cannot rename \(tmp) to \(path): \(errnoText(e))")
        }
    }

    /// Removes a tree; a missing path is fine.
    static func removeTree(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) || (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) != nil else { return }
        // On btrfs, subvolumes (images, root filesystems, snapshots of the btrfs driver) are deleted as
        // such first: the tree walk below does not cross into them.
        if BtrfsDriver.isBtrfs(path) { try deleteSubvolumes(under: path) }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw SysboxError(.io, "cannot remove \(path): \(error.localizedDescription)", cause: error)
        }
    }

    /// Deletes every subvolume at or below `path` that the walk reaches (a subvolume's root has inode
    /// 256), without walking into one that can be destroyed at once (BTRFS_IOC_SNAP_DESTROY): only a
    /// subvolume with others nested inside (ENOTEMPTY) is walked, to delete those first.
    static func deleteSubvolumes(under path: String) throws {
        func children(_ dir: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).map { dir + "/" + $0 }.filter { p in
                var st = stat()
                return lstat(p, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
        }
        func visit(_ dir: String, depth: Int) throws {
            var st = stat()
            guard depth < 64, lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
            guard st.st_ino == 256 else {
                for child in children(dir) { try visit(child, depth: depth + 1) }
                return
            }
            let parent = (dir as NSString).deletingLastPathComponent, name = (dir as NSString).lastPathComponent
            var rc = sysbox_btrfs_destroy(parent, name)
            if rc == -ENOTEMPTY {
                for child in children(dir) { try visit(child, depth: depth + 1) }
                rc = sysbox_btrfs_destroy(parent, name)
            }
            if rc < 0 { throw SysboxError(.io, "cannot delete btrfs subvolume \(dir): \(Host.errnoText(-rc))") }
        }
        try visit(path, depth: 0)
    }

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

extension Host {
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

    /// Whether some process holds an exclusive flock on `path` (a monitor's life lock). No file: no.
    static func lockHeld(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if flock(fd, LOCK_SH | LOCK_NB) == 0 {
            flock(fd, LOCK_UN)
            return false
        }
        return errno == EWOULDBLOCK
    }
}

/// The one status line a detached process sends whoever launched it (`ok …` or `error MESSAGE`) over
/// an inherited pipe, which it then closes; later reports are dropped.
final class StatusLine {
    private var fd: Int32?

    init(fd: Int32) { self.fd = fd >= 0 ? fd : nil }

    var pending: Bool { fd != nil }

    func report(_ line: String) {
        guard let fd else { return }
        _ = (line + "\n").withCString { write(fd, $0, strlen($0)) }
        close(fd)
        self.fd = nil
    }
}
