import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A sysbox process that outlives the command that starts it (a container's monitor, a network's
/// dnsmasq monitor): `sysbox-manager ARGS` in its own session, created in the monitors' cgroup, with a
/// status pipe on fd 3 on which it writes one line, `ok …` once ready or `error MESSAGE`.
struct DetachedProcess: StateBound {
    let state: State

    /// Spawns `sysbox ARGS` detached (`sysbox_spawn_detached`: its own session, stdio on /dev/null and
    /// `log`, fd 3 the status pipe, cloned into the monitors' cgroup2 directory) and waits for its line.
    /// A process that fails or ends before it is ready is reaped before this returns. `layout` is the
    /// host's cgroup layout when the caller has it already (read from /proc/self/mountinfo otherwise).
    /// `ownMountNamespace`: the process gets a mount namespace of its own (a container's monitor: the
    /// read-only disks it stages for an unprivileged container must show nowhere else).
    /// - Returns: the pid of the process.
    /// - Throws: `SysboxError(.io)` with the process's own `error` message, or the last line of `log`.
    func launch(_ arguments: [String], log: String, what: String, layout known: CgroupLayout? = nil, ownMountNamespace: Bool = false) throws -> Int32 {
        var fds: [Int32] = [0, 0]
        guard sysbox_pipe_cloexec(&fds) == 0 else { throw SysboxError(.io, "pipe: \(Host.errnoText(errno))") }
        defer { close(fds[0]) }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var env = ProcessInfo.processInfo.environment
        env["SYSBOX_DIR"] = stateDirectory
        if let dataDirectory { env["SYSBOX_DATA_DIR"] = dataDirectory }
        env[ReadOnlyDisks.launcherNamespace] = ownMountNamespace ? ReadOnlyDisks.mountNamespace() : nil
        let devNullIn = open("/dev/null", O_RDONLY | O_CLOEXEC), devNullOut = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let logFD = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { for fd in [devNullIn, devNullOut, logFD] where fd >= 0 { close(fd) } }
        guard devNullIn >= 0, devNullOut >= 0, logFD >= 0 else {
            close(fds[1])
            throw SysboxError(.io, "cannot start \(what): cannot open /dev/null or \(log): \(Host.errnoText(errno))")
        }
        // Created in the monitors' cgroup2 directory (no migration: a cgroup.procs write would stall
        // every fork on the host for an RCU grace period); the v1 hierarchies it joins itself.
        let monitors = (known ?? (try? CgroupLayout.host())).map { ContainerCgroup(layout: $0, stateDirectory: stateDirectory, name: ".monitors") }
        try? monitors?.create()
        let cgroupFD = (try? monitors?.joinTargets.openV2Directory()) ?? -1
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        // Its own session: detached from the CLI's terminal.
        let c = CStrings()
        let stdio: [Int32] = [devNullIn, devNullOut, logFD, fds[1]]
        let pid = stdio.withUnsafeBufferPointer { fdPtr in
            sysbox_spawn_detached(
                exe, c.array([exe] + arguments), c.array(env.map { "\($0.key)=\($0.value)" }.sorted()), fdPtr.baseAddress, cgroupFD,
                ownMountNamespace ? SYSBOX_DETACHED_OWN_MNTNS : 0)
        }
        close(fds[1])
        guard pid > 0 else { throw SysboxError(.io, "cannot start \(what) \(exe): \(Host.errnoText(-pid))") }
        let text = Self.readStatusLine(fds[0], seconds: 60)
        if text.hasPrefix("ok ") { return pid }
        // A failed monitor cleans up, then exits: wait for it so that nothing is left when start returns.
        var status: Int32 = 0
        if text.isEmpty { kill(pid, SIGKILL) }
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if text.hasPrefix("error ") { throw SysboxError(.io, String(text.dropFirst(6))) }
        let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
        throw SysboxError(.io, "\(what) ended before it was ready\(tail.isEmpty ? "" : ": " + tail)")
    }

    /// One line from the status pipe (the process closes it after the line), without its newline; empty
    /// when the pipe closed or `seconds` passed first.
    static func readStatusLine(_ fd: Int32, seconds: Double) -> String {
        var line = [UInt8]()
        var byte: UInt8 = 0
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&pfd, 1, 1000)
            if n < 0 && errno == EINTR { continue }
            if n == 0 { continue }
            let got = Glibc.read(fd, &byte, 1)
            if got <= 0 || byte == UInt8(ascii: "\n") { break }
            line.append(byte)
        }
        return String(decoding: line, as: UTF8.self)
    }
}
