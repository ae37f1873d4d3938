import CSysbox
import Foundation

/// Runs netlink work inside a network namespace on a dedicated thread that joins it and then ends, so
/// no thread of the process (least of all a Swift-concurrency pool thread) is ever left in another
/// namespace.
public enum NetworkNamespace {
    /// Runs `body` in the network namespace of `pid` (setns on /proc/PID/ns/net), with a netlink socket
    /// opened there.
    public static func run<T: Sendable>(pid: Int32, _ body: @escaping @Sendable (RouteNetlink) throws -> T) throws -> T {
        try onThread {
            let fd = open("/proc/\(pid)/ns/net", O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw NetlinkError(operation: "open the network namespace of \(pid)", errno: errno) }
            defer { close(fd) }
            let rc = sysbox_setns_net(fd)
            guard rc == 0 else { throw NetlinkError(operation: "join the network namespace of \(pid)", errno: -rc) }
            return try body(RouteNetlink(transport: try NetlinkSocket()))
        }
    }

    /// Runs `body` in a new, empty network namespace that disappears when it returns.
    public static func runInNew<T: Sendable>(_ body: @escaping @Sendable (RouteNetlink) throws -> T) throws -> T {
        try onThread {
            let rc = sysbox_unshare_net()
            guard rc == 0 else { throw NetlinkError(operation: "create a network namespace", errno: -rc) }
            return try body(RouteNetlink(transport: try NetlinkSocket()))
        }
    }

    private final class Box<T>: @unchecked Sendable {
        var result: Result<T, Error>?
    }

    private static func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) throws -> T {
        let box = Box<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = Result { try work() }
            done.signal()
        }
        thread.start()
        done.wait()
        return try box.result.unwrap()
    }
}

extension Optional {
    func unwrap<T>() throws -> T where Wrapped == Result<T, Error> {
        guard let self else { throw NetlinkError(operation: "netlink thread", errno: EIO) }
        return try self.get()
    }
}
