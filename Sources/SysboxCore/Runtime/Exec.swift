import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What `sysbox exec` asks for.
public struct ExecRequest: Sendable {
    public var name: String
    public var command: [String]
    public var environment: [String]
    public var cwd: String?
    public var user: String?
    /// Run under a pty allocated in the container's devpts.
    public var interactive: Bool

    public init(name: String, command: [String], environment: [String] = [], cwd: String? = nil, user: String? = nil, interactive: Bool = false) {
        self.name = name
        self.command = command
        self.environment = environment
        self.cwd = cwd
        self.user = user
        self.interactive = interactive
    }
}

/// An exec that failed before the command ran, with the exit code to use: 127 (not found), 126 (not
/// executable), 125 (sysbox could not set it up).
public struct ExecFailure: Error, CustomStringConvertible, Sendable {
    public let exitCode: Int32
    public let message: String
    public var description: String { message }
}

/// A user inside a container, from its /etc/passwd.
struct ContainerUser {
    var name: String
    var uid: UInt32
    var gid: UInt32
    var home: String
}

extension Manager {
    /// Runs a command in a running container and returns its exit code (128+signal when it was
    /// killed). The command joins the container's cgroups and namespaces through a non-dumpable helper
    /// and lands in its pid namespace; in interactive mode it gets a pty from the container's own devpts.
    /// - Throws: `SysboxError` (not running, bad input) or `ExecFailure` (with its exit code).
    public func exec(_ request: ExecRequest) throws -> Int32 {
        let started = DispatchTime.now()
        try Names.validate(request.name, as: .container)
        guard !request.command.isEmpty else { throw SysboxError.invalid("no command given: sysbox exec \(request.name) -- COMMAND") }
        let view = try containerView(request.name)
        guard let live = liveState(request.name) else {
            throw SysboxError(.conflict, "container \(request.name) is not running; start it with: sysbox start \(request.name)")
        }
        let pidfd = sysbox_pidfd_open(live.initPid)
        guard pidfd >= 0 else { throw SysboxError(.conflict, "container \(request.name) stopped") }
        defer { close(pidfd) }
        guard liveState(request.name)?.initPid == live.initPid else { throw SysboxError(.conflict, "container \(request.name) stopped") }

        // Set-up errors (user, directory, environment) exit 125, like env(1) and nice(1) for their own failures.
        func setup<T>(_ body: () throws -> T) throws -> T {
            do { return try body() } catch let e as SysboxError { throw ExecFailure(exitCode: 125, message: e.message) }
        }
        let user = try setup { try resolveUser(request.user, initPid: live.initPid, container: request.name) }
        // Default: the user's home when it exists in the container, else /.
        let cwd = request.cwd ?? (containerDirectoryExists(user.home, initPid: live.initPid) ? user.home : "/")
        guard cwd.hasPrefix("/") else { throw ExecFailure(exitCode: 125, message: "--cwd \(cwd) must be an absolute path") }
        let normalized = (try? Values.absolutePath(cwd)) ?? cwd
        if normalized == "/proc" || normalized.hasPrefix("/proc/") {
            throw ExecFailure(exitCode: 125, message: "--cwd \(cwd) is refused: a directory under /proc can lead outside the container")
        }
        var env: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": user.home, "USER": user.name, "LANG": "C.UTF-8",
            "TERM": request.interactive ? (ProcessInfo.processInfo.environment["TERM"] ?? "xterm") : "dumb",
        ]
        for (key, value) in view.expanded.config where key.hasPrefix("environment.") {
            env[String(key.dropFirst("environment.".count))] = value
        }
        for item in request.environment {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ExecFailure(exitCode: 125, message: "--env expects KEY=VALUE, got \(Names.quote(item))")
            }
            let key = String(item[..<eq]), value = String(item[item.index(after: eq)...])
            try setup {
                do { try InstanceConfig.validate("environment." + key, value) } catch let e as SysboxError {
                    throw SysboxError.invalid("--env \(Names.quote(key)): " + e.message.replacingOccurrences(of: "environment.\(key)", with: key))
                }
            }
            env[key] = value
        }
        let cgroups = (try? CgroupLayout.host()).map { ContainerCgroup.joinTargets(of: live.initPid, layout: $0) }
            ?? ContainerCgroup.JoinTargets(tasks: [], v2Directory: nil)

        // Never hand a host terminal to the container (TIOCSTI would type into the admin's shell):
        // without a pty, every standard fd that is a terminal goes through a pipe relayed here.
        var stdio: [Int32] = [0, 1, 2]
        var relays: [StdioRelay.Pipe] = []
        if !request.interactive {
            for fd: Int32 in 0..<3 where isatty(fd) == 1 {
                var p: [Int32] = [0, 0]
                guard sysbox_pipe_cloexec(&p) == 0 else { throw SysboxError(.io, "pipe: \(Host.errnoText(errno))") }
                if fd == 0 {
                    stdio[0] = p[0]
                    relays.append(StdioRelay.Pipe(local: 0, end: p[1], input: true))
                } else {
                    stdio[Int(fd)] = p[1]
                    relays.append(StdioRelay.Pipe(local: fd, end: p[0], input: false))
                }
            }
        }

        Self.logger.debug("exec prepared", metadata: ["ms": "\(Self.ms(started, .now()))"])
        var sockets: [Int32] = [-1, -1]
        if request.interactive {
            guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
                throw SysboxError(.io, "socketpair: \(Host.errnoText(errno))")
            }
        }
        let c = CStrings()
        let cgroupPtrs = cgroups.tasks.map { UnsafePointer<CChar>?(c.string($0)) }
        // The helper is forked into init's cgroup2 directory (clone3 CLONE_INTO_CGROUP).
        let cgroupFD: Int32
        do { cgroupFD = try cgroups.openV2Directory() } catch {
            for fd in sockets where fd >= 0 { close(fd) }
            throw error
        }
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        var errFD: Int32 = -1
        let helper: Int32 = cgroupPtrs.withUnsafeBufferPointer { cg in
            var config = sysbox_exec_config(
                pidfd: pidfd, cgroup_tasks: cg.baseAddress, cgroup_task_count: Int32(cg.count), cgroup_fd: cgroupFD,
                cwd: UnsafePointer(c.string(cwd)), argv: c.array(request.command),
                envp: c.array(env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }),
                uid: user.uid, gid: user.gid, stdio: (stdio[0], stdio[1], stdio[2]), pty_socket: sockets[1],
                drop_caps: Hardening.dropMask)
            return sysbox_exec(&config, &errFD)
        }
        if sockets[1] >= 0 { close(sockets[1]) }
        for (i, fd) in stdio.enumerated() where fd != Int32(i) { close(fd) }
        guard helper > 0 else {
            if sockets[0] >= 0 { close(sockets[0]) }
            throw SysboxError(.io, "cannot fork the exec helper: \(Host.errnoText(-helper))")
        }
        // SIGTERM, SIGHUP, … sent to sysbox reach the command (through the helper), as with LXD.
        _ = sysbox_forward_signals(helper)
        defer { _ = sysbox_forward_signals(0) }
        var master: Int32 = -1
        if request.interactive {
            master = sysbox_recv_fd(sockets[0])
            close(sockets[0])
        }
        var step: Int32 = 0, err: Int32 = 0
        let reported = sysbox_read_report(errFD, &step, &err)
        close(errFD)
        if reported == 1 {
            if master >= 0 { close(master) }
            _ = Self.waitStatus(helper)
            let failure = ChildFailure(step: step, errno: err)
            let command = request.command[0]
            if step == 24 && (err == ENOENT || err == ENOTDIR) {
                throw ExecFailure(exitCode: 127, message: "command \(Names.quote(command)) not found in container \(request.name)")
            }
            if step == 24 {
                throw ExecFailure(exitCode: 126, message: "command \(Names.quote(command)) cannot be run in container \(request.name): \(Host.errnoText(err))")
            }
            if step == 28 {
                throw ExecFailure(exitCode: 125, message: "cannot use --cwd \(cwd) in container \(request.name): \(Host.errnoText(err))")
            }
            if step == 25 && err == ESRCH {
                throw ExecFailure(exitCode: 125, message: "container \(request.name) stopped before the command could start")
            }
            throw ExecFailure(exitCode: 125, message: "exec in container \(request.name): \(failure)")
        }
        Self.logger.debug("exec running", metadata: ["ms": "\(Self.ms(started, .now()))"])
        if master >= 0 {
            PtyRelay.run(master: master)
            close(master)
        } else if !relays.isEmpty {
            StdioRelay.run(relays, helper: helper)
        }
        return Self.waitStatus(helper)
    }

    /// Writes `containers/NAME/exec.cache`, what the C fast path of a plain `sysbox exec NAME -- CMD`
    /// (no options, no terminal) needs without opening the database: init's pid and start time, the
    /// host's cgroup hierarchies, root's environment (with `environment.*`), the working directory and
    /// the capabilities to drop. Written at start and after every config change of a running container;
    /// removed when it stops. A stale or missing cache only sends exec down the ordinary path.
    func writeExecCache(_ name: String) throws {
        guard let live = liveState(name), let start = Host.startTime(of: live.initPid) else { return }
        let view = try containerView(name)
        let layout = try CgroupLayout.host()
        let home = containerDirectoryExists("/root", initPid: live.initPid) ? "/root" : "/"
        var env: [String: String] = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                     "HOME": home, "USER": "root", "LANG": "C.UTF-8", "TERM": "dumb"]
        for (key, value) in view.expanded.config where key.hasPrefix("environment.") {
            env[String(key.dropFirst("environment.".count))] = value
        }
        var lines = ["sysbox-exec-cache 1", "init \(live.initPid) \(start)", "cwd \(home)", "drop \(Hardening.dropMask)"]
        for h in layout.hierarchies { lines.append("cgroup \(h.isV2 ? "-" : h.controllers.joined(separator: ",")) \(h.mountPoint)") }
        for (key, value) in env.sorted(by: { $0.key < $1.key }) where !value.contains("\n") { lines.append("env \(key)=\(value)") }
        try Host.writeAtomically(lines.joined(separator: "\n") + "\n", to: paths(name).execCache, mode: 0o600, durable: false)
    }

    /// waitpid, as an exit code (the helper already turns a signal into 128+signal).
    static func waitStatus(_ pid: Int32) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 125 }
        }
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }

    /// `--user NAME|UID[:GID]`, resolved in the container's own /etc/passwd (opened inside its root
    /// with RESOLVE_IN_ROOT, so a symlink there cannot point at the host's).
    func resolveUser(_ spec: String?, initPid: Int32, container: String) throws -> ContainerUser {
        let passwd = readContainerFile("/etc/passwd", initPid: initPid) ?? ""
        let entries: [ContainerUser] = passwd.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 7, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return ContainerUser(name: String(f[0]), uid: uid, gid: gid, home: String(f[5]))
        }
        guard let spec else {
            return entries.first { $0.uid == 0 } ?? ContainerUser(name: "root", uid: 0, gid: 0, home: "/root")
        }
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let first = parts.first, !first.isEmpty else {
            throw SysboxError.invalid("--user \(spec): expected NAME, UID or UID:GID")
        }
        if first.allSatisfy(\.isASCIIDigit), UInt32(first) == nil {
            throw SysboxError.invalid("--user \(spec): the UID is out of range (0-4294967295)")
        }
        var user: ContainerUser
        if let uid = UInt32(first) {
            user = entries.first { $0.uid == uid } ?? ContainerUser(name: first, uid: uid, gid: uid, home: "/")
        } else if let found = entries.first(where: { $0.name == first }) {
            user = found
        } else {
            throw SysboxError.notFound("user \(first) not found in /etc/passwd of container \(container)")
        }
        if parts.count == 2 {
            guard let gid = UInt32(parts[1]) else { throw SysboxError.invalid("--user \(spec): the group must be a number") }
            user.gid = gid
        }
        return user
    }

    /// Whether `path` is a directory in a running container (resolved inside its root).
    func containerDirectoryExists(_ path: String, initPid: Int32) -> Bool {
        let root = open("/proc/\(initPid)/root", SYSBOX_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return false }
        defer { close(root) }
        let fd = sysbox_openat_in_root(root, path, SYSBOX_O_PATH | O_DIRECTORY, 0)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }

    /// Reads a file of a running container through its root (/proc/PID/root) without following
    /// symlinks out of it.
    func readContainerFile(_ path: String, initPid: Int32) -> String? {
        let root = open("/proc/\(initPid)/root", SYSBOX_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return nil }
        defer { close(root) }
        let fd = sysbox_openat_in_root(root, path, O_RDONLY, 0)
        guard fd >= 0 else { return nil }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let data = handle.readDataToEndOfFile()
        return String(decoding: data, as: UTF8.self)
    }
}

/// Copies between the CLI's terminal fds and the pipes standing in for them in the container, until the
/// command's output pipes close (or the helper exits).
enum StdioRelay {
    struct Pipe {
        var local: Int32
        var end: Int32
        var input: Bool
    }

    static func run(_ pipes: [Pipe], helper: Int32) {
        var open = pipes
        let helperFD = sysbox_pidfd_open(helper)
        defer { if helperFD >= 0 { close(helperFD) } }
        var buffer = [UInt8](repeating: 0, count: 16384)
        var helperDone = false
        while open.contains(where: { !$0.input }) || (!helperDone && !open.isEmpty) {
            var fds = open.map { pollfd(fd: $0.input ? $0.local : $0.end, events: Int16(POLLIN), revents: 0) }
            fds.append(pollfd(fd: helperDone ? -1 : helperFD, events: Int16(POLLIN), revents: 0))
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { if errno == EINTR { continue } else { break } }
            if fds[fds.count - 1].revents != 0 {
                helperDone = true
                // The command is gone: whatever stdin would still send has nowhere to go.
                open.removeAll { if $0.input { close($0.end); return true }; return false }
            }
            var finished: [Int32] = []
            for (i, p) in open.enumerated() where i < fds.count - 1 && fds[i].revents != 0 {
                let from = p.input ? p.local : p.end, to = p.input ? p.end : p.local
                let got = read(from, &buffer, buffer.count)
                if got <= 0 {
                    finished.append(p.end)
                    continue
                }
                var off = 0
                while off < got {
                    let w = buffer.withUnsafeBytes { write(to, $0.baseAddress.map { $0 + off }, got - off) }
                    if w <= 0 { break }
                    off += w
                }
                if off < got { finished.append(p.end) }
            }
            for end in finished { close(end) }
            open.removeAll { finished.contains($0.end) }
            if helperDone && !open.contains(where: { !$0.input }) { break }
        }
        open.forEach { close($0.end) }
    }
}

/// Standard input put in raw mode (when it is a terminal) for a relay; `restore()` puts it back.
struct RawTerminal {
    let isTerminal: Bool
    private var saved = termios()

    init() {
        isTerminal = isatty(0) == 1
        guard isTerminal else { return }
        tcgetattr(0, &saved)
        var raw = saved
        cfmakeraw(&raw)
        tcsetattr(0, TCSANOW, &raw)
    }

    func restore() {
        guard isTerminal else { return }
        var s = saved
        tcsetattr(0, TCSANOW, &s)
    }
}

/// Relays the local terminal and a pty master: raw mode, window size kept in sync, until the pty closes.
enum PtyRelay {
    static func run(master: Int32) {
        let terminal = RawTerminal()
        defer { terminal.restore() }
        var rows: UInt16 = 0, cols: UInt16 = 0
        func syncSize() {
            var r: UInt16 = 0, c: UInt16 = 0
            if sysbox_get_winsize(1, &r, &c) == 0 || sysbox_get_winsize(0, &r, &c) == 0, r != rows || c != cols {
                rows = r
                cols = c
                _ = sysbox_set_winsize(master, r, c)
            }
        }
        syncSize()
        var buffer = [UInt8](repeating: 0, count: 16384)
        var stdinOpen = true
        while true {
            var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0), pollfd(fd: stdinOpen ? 0 : -1, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 2, 250)
            if n < 0 { if errno == EINTR { continue } else { break } }
            syncSize()
            if fds[0].revents != 0 {
                let got = read(master, &buffer, buffer.count)
                if got <= 0 { break }
                var off = 0
                while off < got {
                    let w = buffer.withUnsafeBytes { write(1, $0.baseAddress.map { $0 + off }, got - off) }
                    if w <= 0 { break }
                    off += w
                }
            }
            if fds[1].revents != 0 {
                let got = read(0, &buffer, buffer.count)
                if got <= 0 {
                    stdinOpen = false
                    var eof: UInt8 = 4  // Ctrl-D: end of input for the program on the pty
                    _ = write(master, &eof, 1)
                } else {
                    _ = buffer.withUnsafeBytes { write(master, $0.baseAddress, got) }
                }
            }
        }
    }
}
