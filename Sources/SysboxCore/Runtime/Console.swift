import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `sysbox console`: the console log, and attaching to the console through the monitor's socket.
struct ContainerConsole: StateBound {
    let state: State

    /// The console log of a container (what its init and console shell printed), newest last.
    public func consoleLog(_ name: String) throws -> String {
        try Names.validate(name, as: .container)
        _ = try containers.containerView(name)
        return (try? String(contentsOfFile: paths(name).consoleLog, encoding: .utf8)) ?? ""
    }

    /// Attaches the terminal to a running container's console (through its monitor's socket) until the
    /// user types Ctrl-a q or the container stops.
    public func attachConsole(_ name: String, onAttach: () -> Void) throws {
        try Names.validate(name, as: .container)
        _ = try containers.containerView(name)
        guard runtime.liveState(name) != nil else {
            throw SysboxError(.conflict, "container \(name) is not running; start it with: sysbox start \(name)")
        }
        let dir = open(paths(name).directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dir >= 0 else { throw SysboxError(.io, "cannot open \(paths(name).directory): \(Host.errnoText(errno))") }
        defer { close(dir) }
        let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sock >= 0 else { throw SysboxError(.io, "socket: \(Host.errnoText(errno))") }
        defer { close(sock) }
        let rc = Self.withUnixAddress("/proc/self/fd/\(dir)/\(ContainerPaths.consoleSocket)") { connect(sock, $0, $1) }
        guard rc == 0 else { throw SysboxError(.io, "cannot reach the console of \(name) (its monitor): \(Host.errnoText(errno))") }
        onAttach()
        let terminal = RawTerminal()
        let tty = terminal.isTerminal
        defer { terminal.restore() }
        var buffer = [UInt8](repeating: 0, count: 8192)
        var escape = false
        var stdinOpen = true
        loop: while true {
            var fds = [pollfd(fd: sock, events: Int16(POLLIN), revents: 0), pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            if poll(&fds, 2, -1) < 0 { if errno == EINTR { continue } else { break } }
            if fds[0].revents != 0 {
                let got = Glibc.read(sock, &buffer, buffer.count)
                if got <= 0 { break }
                _ = buffer.withUnsafeBytes { Glibc.write(1, $0.baseAddress, got) }
            }
            if fds[1].revents != 0 {
                let got = Glibc.read(0, &buffer, buffer.count)
                // End of input that is not a terminal (a script, </dev/null): detach.
                if got <= 0 { if tty { stdinOpen = false; continue } else { break loop } }
                var out: [UInt8] = []
                for byte in buffer[0..<got] {
                    if escape {
                        escape = false
                        if byte == UInt8(ascii: "q") { break loop }
                        out.append(1)
                        if byte == 1 { continue }
                    } else if byte == 1 {  // Ctrl-a
                        escape = true
                        continue
                    }
                    out.append(byte)
                }
                if !out.isEmpty { _ = out.withUnsafeBytes { Glibc.write(sock, $0.baseAddress, $0.count) } }
            }
        }
    }

    /// Calls `body` with a unix socket address for `path` (truncated to sun_path) and its length: for
    /// the console socket's connect (here) and bind (the monitor).
    static func withUnixAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            if let base = raw.baseAddress { _ = path.withCString { strncpy(base.assumingMemoryBound(to: CChar.self), $0, raw.count - 1) } }
        }
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
