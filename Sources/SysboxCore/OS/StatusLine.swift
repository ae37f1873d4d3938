import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

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
