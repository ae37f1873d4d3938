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

/// `sysbox exec`: runs commands inside a running container, and keeps the exec fast path's cache.
struct ContainerExec: StateBound {
    let state: State

    /// Runs a command in a running container and returns its exit code (128+signal when it was
    /// killed). The command joins the container's cgroups and namespaces through a non-dumpable helper
    /// and lands in its pid namespace; in interactive mode it gets a pty from the container's own devpts.
    /// - Throws: `SysboxError` (not running, bad input) or `ExecFailure` (with its exit code).
    public func exec(_ request: ExecRequest) throws -> Int32 {
        let started = DispatchTime.now()
        try Names.validate(request.name, as: .container)
        guard !request.command.isEmpty else { throw SysboxError.invalid("no command given: sysbox exec \(request.name) -- COMMAND") }
        let view = try containers.containerView(request.name)
        guard let live = runtime.liveState(request.name) else {
            throw SysboxError(.conflict, "container \(request.name) is not running; start it with: sysbox start \(request.name)")
        }
        if runtime.isPaused(request.name) {
            throw SysboxError(.conflict, "container \(request.name) is paused (its processes are frozen); resume it first: sysbox resume \(request.name)")
        }
        let pidfd = sysbox_pidfd_open(live.initPid)
        guard pidfd >= 0 else { throw SysboxError(.conflict, "container \(request.name) stopped") }
        defer { close(pidfd) }
        guard runtime.liveState(request.name)?.initPid == live.initPid else { throw SysboxError(.conflict, "container \(request.name) stopped") }

        let user = try Self.execSetup { try resolveUser(request.user, initPid: live.initPid, container: request.name) }
        let cwd = try execDirectory(request, user: user, initPid: live.initPid)
        let env = try Self.execEnvironment(request, user: user, config: view.expanded.config)
        let cgroups =
            (try? CgroupLayout.host()).map { ContainerCgroup.joinTargets(of: live.initPid, layout: $0) }
            ?? ContainerCgroup.JoinTargets(tasks: [], v2Directory: nil)
        var stdio = try ExecStdio(interactive: request.interactive)
        Self.logger.debug("exec prepared", metadata: ["ms": "\(Self.ms(started, .now()))"])
        // The filter init got; one built from the configuration when the start did not write one (a
        // container started by an earlier sysbox).
        let seccomp = try SeccompPolicy.read(paths(request.name).seccompFilter) ?? SeccompPolicy.filter(config: view.expanded.config)
        let helper = try Self.forkHelper(
            pidfd: pidfd, cgroups: cgroups, cwd: cwd, command: request.command, environment: env,
            user: user, seccomp: seccomp, userNamespace: Self.hasOwnUserNamespace(live.initPid),
            rlimits: StartPlan.rlimits(at: paths(request.name).plan), stdio: &stdio)
        // SIGTERM, SIGHUP, … sent to sysbox reach the command (through the helper), as with LXD.
        _ = sysbox_forward_signals(helper.pid)
        defer { _ = sysbox_forward_signals(0) }
        let master = stdio.receiveMaster()
        var step: Int32 = 0, err: Int32 = 0
        let reported = sysbox_read_report(helper.errFD, &step, &err)
        close(helper.errFD)
        if reported == 1 {
            if master >= 0 { close(master) }
            _ = Self.waitStatus(helper.pid)
            throw Self.execFailure(step: step, errno: err, command: request.command[0], container: request.name, cwd: cwd, cwdGiven: request.cwd != nil)
        }
        Self.logger.debug("exec running", metadata: ["ms": "\(Self.ms(started, .now()))"])
        if master >= 0 {
            PtyRelay.run(master: master)
            close(master)
        } else if !stdio.relays.isEmpty {
            StdioRelay.run(stdio.relays, helper: helper.pid)
        }
        return Self.waitStatus(helper.pid)
    }

    /// Set-up errors (user, directory, environment) exit 125, like env(1) and nice(1) for their own failures.
    static func execSetup<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as SysboxError { throw ExecFailure(exitCode: 125, message: e.message) }
    }

    /// The command's working directory: `--cwd`, else the user's home when it exists in the container,
    /// else /. Never under /proc.
    func execDirectory(_ request: ExecRequest, user: ContainerUser, initPid: Int32) throws -> String {
        let cwd = request.cwd ?? (containerDirectoryExists(user.home, initPid: initPid) ? user.home : "/")
        guard cwd.hasPrefix("/") else { throw ExecFailure(exitCode: 125, message: "--cwd \(cwd) must be an absolute path") }
        let normalized = (try? Values.absolutePath(cwd)) ?? cwd
        if normalized == "/proc" || normalized.hasPrefix("/proc/") {
            throw ExecFailure(exitCode: 125, message: "--cwd \(cwd) is refused: a directory under /proc can lead outside the container")
        }
        return cwd
    }

    /// The environment of an exec'd command: sysbox's defaults for `user`, `environment.*`, then `--env`.
    static func execEnvironment(_ request: ExecRequest, user: ContainerUser, config: [String: String]) throws -> [String] {
        var env = baseExecEnvironment(
            home: user.home, user: user.name,
            term: request.interactive ? (ProcessInfo.processInfo.environment["TERM"] ?? "xterm") : "dumb",
            config: config)
        for item in request.environment {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw ExecFailure(exitCode: 125, message: "--env expects KEY=VALUE, got \(Names.quote(item))")
            }
            let key = String(item[..<eq]), value = String(item[item.index(after: eq)...])
            try execSetup {
                do { try InstanceConfig.validate("environment." + key, value) } catch let e as SysboxError {
                    throw SysboxError.invalid("--env \(Names.quote(key)): " + e.message.replacingOccurrences(of: "environment.\(key)", with: key))
                }
            }
            env[key] = value
        }
        return env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// What every exec gets (both paths: the Swift one and the C fast path through exec.cache): PATH,
    /// HOME, USER, LANG, TERM, then `environment.*`.
    static func baseExecEnvironment(home: String, user: String, term: String, config: [String: String]) -> [String: String] {
        var env = ["PATH": SYSBOX_DEFAULT_PATH, "HOME": home, "USER": user, "LANG": "C.UTF-8", "TERM": term]
        for (key, value) in StartPlanner.configEnvironment(config) { env[key] = value }
        return env
    }

    /// The exit code and message of an exec whose helper reported a failure (sysbox_exec_failure, as
    /// the C fast path).
    static func execFailure(step: Int32, errno err: Int32, command: String, container: String, cwd: String, cwdGiven: Bool = true) -> ExecFailure {
        var message = [CChar](repeating: 0, count: 4096)
        let code = sysbox_exec_failure(step, err, Names.quote(command), container, cwd, cwdGiven ? 1 : 0, &message, message.count)
        return ExecFailure(exitCode: code, message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// Forks the exec helper (sysbox_exec) into init's cgroup2 directory (clone3 CLONE_INTO_CGROUP).
    /// Closes the container's ends of `stdio`.
    static func forkHelper(
        pidfd: Int32, cgroups: ContainerCgroup.JoinTargets, cwd: String, command: [String], environment: [String],
        user: ContainerUser, seccomp: [UInt8], userNamespace: Bool, rlimits: [Rlimits.Limit] = [], stdio: inout ExecStdio
    ) throws -> (pid: Int32, errFD: Int32) {
        let limits = rlimits.map { sysbox_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        let c = CStrings()
        let tasks: [UnsafePointer<CChar>?] = cgroups.tasks.map { UnsafePointer(c.string($0)) }
        let cgroupFD: Int32
        do { cgroupFD = try cgroups.openV2Directory() } catch {
            stdio.closeAll()
            throw error
        }
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        var errFD: Int32 = -1
        var config = sysbox_exec_config(
            pidfd: pidfd, cgroup_tasks: UnsafePointer(c.buffer(tasks)), cgroup_task_count: Int32(tasks.count), cgroup_fd: cgroupFD,
            cwd: UnsafePointer(c.string(cwd)), argv: c.array(command), envp: c.array(environment),
            uid: user.uid, gid: user.gid, stdio: (stdio.fds[0], stdio.fds[1], stdio.fds[2]), pty_socket: stdio.sockets[1],
            drop_caps: Hardening.dropMask, seccomp_filter: UnsafePointer(c.buffer(seccomp)), seccomp_length: UInt32(seccomp.count),
            userns: userNamespace ? 1 : 0, rlimits: UnsafePointer(c.buffer(limits)), rlimit_count: Int32(limits.count))
        let helper = sysbox_exec(&config, &errFD)
        stdio.closeContainerEnds()
        guard helper > 0 else {
            if stdio.sockets[0] >= 0 { close(stdio.sockets[0]) }
            throw SysboxError(.io, "cannot fork the exec helper: \(Host.errnoText(-helper))")
        }
        return (helper, errFD)
    }

    /// Writes `containers/NAME/exec.cache`, what the C fast path of a plain `sysbox exec NAME -- CMD`
    /// (no options, no terminal) needs without opening the database: init's pid and start time, the
    /// host's cgroup hierarchies, root's environment (with `environment.*`), the working directory and
    /// the capabilities to drop. Written at start and after every config change of a running container;
    /// removed when it stops. A stale or missing cache only sends exec down the ordinary path.
    /// `layout` is the host's cgroup layout when the caller has it already (`start`).
    func writeExecCache(_ name: String, layout known: CgroupLayout? = nil) throws {
        // None while paused: the fast path would join the frozen cgroup and hang (`resume` writes it).
        guard !FileManager.default.fileExists(atPath: paths(name).paused) else { return }
        guard let live = runtime.liveState(name), let start = Host.startTime(of: live.initPid) else { return }
        let view = try containers.containerView(name)
        let layout = try known ?? CgroupLayout.host()
        let home = containerDirectoryExists("/root", initPid: live.initPid) ? "/root" : "/"
        let env = Self.baseExecEnvironment(home: home, user: "root", term: "dumb", config: view.expanded.config)
        let text = Self.execCacheText(
            initPid: live.initPid, startTime: start, cwd: home, layout: layout, environment: env, userNamespace: Self.hasOwnUserNamespace(live.initPid),
            rlimits: StartPlan.rlimits(at: paths(name).plan))
        try Host.writeAtomically(text, to: paths(name).execCache, mode: 0o600, durable: false)
    }

    /// The text of exec.cache (the format: CSysbox.h, "exec.cache"; read by sysbox_exec_cache_parse).
    static func execCacheText(
        initPid: Int32, startTime: UInt64, cwd: String, layout: CgroupLayout, environment env: [String: String], userNamespace: Bool = false,
        rlimits: [Rlimits.Limit] = []
    ) -> String {
        var lines = [
            String(SYSBOX_EXEC_CACHE_MAGIC.dropLast()), "init \(initPid) \(startTime)", "cwd \(cwd)",
            "drop \(Hardening.dropMask)"
        ]
        if userNamespace { lines.append("userns 1") }
        for h in layout.hierarchies { lines.append("cgroup \(h.isV2 ? "-" : h.controllers.joined(separator: ",")) \(h.mountPoint)") }
        for (key, value) in env.sorted(by: { $0.key < $1.key }) where !value.contains("\n") { lines.append("env \(key)=\(value)") }
        for r in rlimits.prefix(Int(SYSBOX_EXEC_CACHE_MAX_RLIMITS)) { lines.append("rlimit \(r.resource) \(r.soft) \(r.hard)") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Whether the process `pid` is in a user namespace other than this process's (an unprivileged
    /// container's init): stat(2) of both /proc/PID/ns/user links (their inodes name the namespaces).
    static func hasOwnUserNamespace(_ pid: Int32) -> Bool {
        var mine = stat(), theirs = stat()
        guard stat("/proc/self/ns/user", &mine) == 0, stat("/proc/\(pid)/ns/user", &theirs) == 0 else { return false }
        return mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev
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

/// The standard fds of an exec'd command. Never a host terminal for the container (TIOCSTI would type
/// into the admin's shell): without a pty, every standard fd that is a terminal goes through a pipe
/// relayed here; with one, a socket pair over which the helper sends the pty master.
struct ExecStdio {
    var fds: [Int32] = [0, 1, 2]
    var relays: [StdioRelay.Pipe] = []
    var sockets: [Int32] = [-1, -1]

    init(interactive: Bool) throws {
        if interactive {
            guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
                throw SysboxError(.io, "socketpair: \(Host.errnoText(errno))")
            }
            return
        }
        for fd: Int32 in 0..<3 where isatty(fd) == 1 {
            var p: [Int32] = [0, 0]
            guard sysbox_pipe_cloexec(&p) == 0 else { throw SysboxError(.io, "pipe: \(Host.errnoText(errno))") }
            if fd == 0 {
                fds[0] = p[0]
                relays.append(StdioRelay.Pipe(local: 0, end: p[1], input: true))
            } else {
                fds[Int(fd)] = p[1]
                relays.append(StdioRelay.Pipe(local: fd, end: p[0], input: false))
            }
        }
    }

    /// After the fork: the helper holds the container's ends.
    mutating func closeContainerEnds() {
        if sockets[1] >= 0 { close(sockets[1]) }
        sockets[1] = -1
        for (i, fd) in fds.enumerated() where fd != Int32(i) { close(fd) }
    }

    /// When no helper was forked: the sockets (as before this type, the pipes stay to the process's exit).
    mutating func closeAll() {
        for fd in sockets where fd >= 0 { close(fd) }
        sockets = [-1, -1]
    }

    /// The pty master the helper sent (interactive), else -1.
    mutating func receiveMaster() -> Int32 {
        guard sockets[0] >= 0 else { return -1 }
        let master = sysbox_recv_fd(sockets[0])
        close(sockets[0])
        sockets[0] = -1
        return master
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
                open.removeAll {
                    if $0.input { close($0.end); return true }; return false
                }
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
