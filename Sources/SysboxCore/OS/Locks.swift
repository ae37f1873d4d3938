import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// flock(2) probes.
extension Host {
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
