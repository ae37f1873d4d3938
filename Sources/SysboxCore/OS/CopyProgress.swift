import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Progress of long operations (copies of a container's files for `copy`, `snapshot create` and
/// `restore`): the CLI binds `sink` around a call when its standard error is a terminal, and the
/// storage code reports through it; nobody listens otherwise, and nothing is measured then.
public enum OperationProgress {
    /// Where progress lines go (one line, updated in place by the CLI); nil: nobody listens.
    @TaskLocal public static var sink: (@Sendable (String) -> Void)?

    /// Runs `body` (a copy of the tree `from` into `to`) while a thread reports every 0.5 s how much of
    /// `from`'s bytes `to` holds, as "WHAT: 45% (12.3MiB of 27.0MiB)"; then clears the line. Without a
    /// sink, just runs `body`.
    static func whileCopying(from: String, to: String, what: String, _ body: () throws -> Void) rethrows {
        guard let sink else { return try body() }
        let finished = Mutex(false)
        let stopped = DispatchSemaphore(value: 0)
        // The measuring happens here, beside the copy, never before it: a running container is frozen
        // for the copy, and the copy must not wait for a walk. Every 0.5 s (and once at once).
        let reporter = Thread {
            sink("\(what): measuring")
            let total = TreeSize.bytes(from)
            repeat {
                let done = min(TreeSize.bytes(to), total)
                let percent = total > 0 ? Int(Double(done) * 100 / Double(total)) : 100
                sink("\(what): \(percent)% (\(humanBytes(done)) of \(humanBytes(total)))")
                for _ in 0..<50 where !finished.withLock({ $0 }) { usleep(10_000) }
            } while !finished.withLock({ $0 })
            stopped.signal()
        }
        reporter.start()
        defer {
            finished.withLock { $0 = true }
            stopped.wait()
            sink("")
        }
        try body()
    }
}

/// The bytes of the regular files under a directory tree (lstat, links never followed, never into
/// another filesystem); 0 for a missing path.
enum TreeSize {
    static func bytes(_ path: String) -> UInt64 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0 }
        if (st.st_mode & S_IFMT) == S_IFREG { return UInt64(st.st_size) }
        guard (st.st_mode & S_IFMT) == S_IFDIR else { return 0 }
        return walk(path, device: st.st_dev, depth: 0)
    }

    private static func walk(_ dir: String, device: dev_t, depth: Int) -> UInt64 {
        guard depth < 256, let stream = opendir(dir) else { return 0 }
        defer { closedir(stream) }
        var total: UInt64 = 0
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) } }
            if name == "." || name == ".." { continue }
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, st.st_dev == device else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG: total += UInt64(st.st_size)
            case S_IFDIR: total += walk(path, device: device, depth: depth + 1)
            default: continue
            }
        }
        return total
    }
}
