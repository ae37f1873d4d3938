import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// Per-container locks: `flock` on `locks/NAME.lock`, released by the kernel when the holder dies.
extension StateBound {
    /// Runs `body` holding the container's lock (flock on `containers/NAME/lock`, released when the
    /// holder dies, so a killed command never leaves it locked).
    func withLock<T>(_ name: String, _ body: () throws -> T) throws -> T {
        let p = paths(name)
        try FileManager.default.createDirectory(atPath: stateDirectory + "/locks", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(p.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SysboxError(.io, "cannot open \(p.lock): \(Host.errnoText(errno))") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SysboxError(.io, "cannot lock \(p.lock): \(Host.errnoText(errno))") }
        }
        return try body()
    }

    /// Takes the container's lock only if it is free; returns the fd holding it (close to release), or
    /// nil when another process holds it.
    func tryLock(_ name: String) -> Int32? {
        try? FileManager.default.createDirectory(atPath: stateDirectory + "/locks", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let fd = open(paths(name).lock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return nil }
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { return fd }
        close(fd)
        return nil
    }
}
