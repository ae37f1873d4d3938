import CSysbox
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The monitor of one running container: a small process (its own session, detached from the CLI)
/// that is init's parent. It holds the console pty master, copies the console to a size-capped log and
/// to attached `sysbox console` clients, reaps init, restarts the container when init was rebooted
/// (killed by SIGHUP through reboot(2)) and records the stop otherwise (SIGINT: poweroff/halt, or an
/// exit).
public enum Monitor {
    /// The console log keeps at most this many bytes (the newest half is kept when it fills).
    static let consoleLogCap = 1 << 20

    /// Where a monitor continues after its idle phase (`sysbox __monitor-idle`, the C front) saw init
    /// exit: init's wait status and the fds it kept (the arguments: CSysbox.h, "The idle monitor").
    public struct Resume: Sendable {
        public var status: Int32
        public var master: Int32, slave: Int32, listener: Int32, lock: Int32
        public var clients: [Int32]

        public init(status: Int32, master: Int32, slave: Int32, listener: Int32, lock: Int32, clients: [Int32]) {
            self.status = status
            self.master = master
            self.slave = slave
            self.listener = listener
            self.lock = lock
            self.clients = clients
        }
    }

    /// Runs the monitor of container `name` until the container stops. `statusFD` receives one line,
    /// `ok PID` once init runs or `error MESSAGE`, then is closed. The database is opened (by
    /// `openManager`) only at the end, to record the stop: a running monitor holds no database memory.
    /// With `resume`, continues a monitor whose idle phase saw init exit. Returns the process exit code.
    public static func run(
        stateDirectory: String, name: String, statusFD: Int32, openManager: () throws -> Manager,
        resume: Resume? = nil
    ) -> Int32 {
        let status = StatusLine(fd: statusFD)
        // Writes to a gone console client, or to a child that failed before its release, return EPIPE
        // instead of killing the monitor (init's signals are reset to the defaults before its execve).
        signal(SIGPIPE, SIG_IGN)
        let paths = ContainerPaths(stateDirectory: stateDirectory, name: name)
        guard let lock = takeLock(paths: paths, name: name, resume: resume, status: status) else { return 1 }
        let session = MonitorSession(stateDirectory: stateDirectory, name: name, paths: paths, lock: lock, status: status)
        do {
            try session.prepare(resume: resume)
            var pending = resume.map { InitExit(status: $0.status) }
            var rebooting = true
            while rebooting {
                let exit: InitExit
                if let done = pending {
                    exit = done
                    pending = nil
                } else {
                    exit = try session.bootAndServe()
                }
                rebooting = session.recordExit(exit)
            }
        } catch {
            status.report("error \(error)")
            session.abandon(manager: try? openManager())
            return 1
        }
        session.finish(manager: try? openManager())
        return 0
    }

    /// The monitor's flock on the container (one monitor per container), held for the monitor's whole
    /// life (released by the kernel when it dies) and never inherited by init (CLOEXEC). A resume must
    /// hold that very lock already. nil (reported) when it cannot be had.
    static func takeLock(paths: ContainerPaths, name: String, resume: Resume?, status: StatusLine) -> Int32? {
        let lock = resume?.lock ?? open(paths.monitorLock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            status.report("error another monitor is already running container \(name)")
            return nil
        }
        // A resume continues this container's own monitor: its lock fd must be that lock (taken
        // again above: a no-op on the monitor's own open file, refused for anyone else's).
        if resume != nil {
            var held = stat(), file = stat()
            guard fstat(lock, &held) == 0, stat(paths.monitorLock, &file) == 0,
                held.st_dev == file.st_dev, held.st_ino == file.st_ino
            else {
                FileHandle.standardError.write(Data("sysbox monitor: __monitor-resume without \(name)'s monitor lock\n".utf8))
                return nil
            }
        }
        return lock
    }

    struct InitExit {
        var code: Int32?
        var signal: Int32?

        init(code: Int32?, signal: Int32?) {
            self.code = code
            self.signal = signal
        }

        /// From a wait status.
        init(status st: Int32) {
            code = st & 0x7f == 0 ? (st >> 8) & 0xff : nil
            signal = st & 0x7f != 0 ? st & 0x7f : nil
        }

        /// How init ended, for `info`: reboot(2) in a pid namespace kills init with SIGHUP (restart) or
        /// SIGINT (halt, poweroff).
        static func describe(_ e: InitExit) -> String {
            switch (e.code, e.signal) {
            case (_, SIGINT?): return "clean (halt or poweroff from inside, or sysbox stop)"
            case (_, SIGHUP?): return "reboot from inside"
            case (_, SIGKILL?): return "killed (sysbox stop --force, or the stop timeout passed)"
            case let (_, signal?): return "killed by signal \(signal)"
            case let (code?, _): return "init exited with status \(code)"
            default: return "unknown"
            }
        }
    }

    /// Serves the console until init exits (the C relay, sysbox_console_relay: the idle front's own);
    /// returns how it ended. Clients beyond what the relay serves are dropped.
    static func serveConsole(
        init spawned: SpawnedInit, master: Int32, listener: Int32, clients: inout [Int32],
        log: inout ConsoleLog
    ) -> InitExit {
        let capacity = Int(SYSBOX_CONSOLE_MAX_CLIENTS)
        for fd in clients.dropFirst(capacity) { close(fd) }
        var fds = Array(clients.prefix(capacity)) + Array(repeating: -1, count: capacity - min(clients.count, capacity))
        var count = Int32(min(clients.count, capacity))
        let status = sysbox_console_relay(spawned.pid, spawned.pidfd, master, listener, &log.c, &fds, &count)
        clients = Array(fds.prefix(Int(count)))
        return InitExit(status: status)
    }

    /// Hands the idle phase to the small `sysbox` front (`sysbox __monitor-idle`, monitor_idle.c):
    /// execve keeps this pid (init stays its child), the fds and the monitor's flock, and drops the
    /// Swift binary's dirty memory (USS ~1.9 MiB → see the Benchmarks section). The front execs
    /// `sysbox-manager __monitor-resume` when init exits, which continues in `run(resume:)`. Returns
    /// only when the front is missing or cannot be exec'd.
    static func idle(
        name: String, init spawned: SpawnedInit, master: Int32, slave: Int32, listener: Int32, lock: Int32,
        clients: [Int32], logPath: String, logger: Logger
    ) {
        guard let manager = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return }
        let dir = URL(fileURLWithPath: manager).deletingLastPathComponent()
        let candidates = [
            dir.appendingPathComponent("sysbox").path,
            dir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bin/sysbox").path
        ]
        guard let front = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            logger.warning("no sysbox front next to \(manager): the monitor stays the Swift CLI")
            return
        }
        // The exact binary to come back to, whatever happens to its path while init runs.
        let managerFD = open(manager, SYSBOX_O_PATH | O_CLOEXEC)
        defer { if managerFD >= 0 { close(managerFD) } }
        let fds = [spawned.pidfd, master, slave, listener, lock, managerFD].filter { $0 >= 0 } + clients
        for fd in fds { _ = fcntl(fd, F_SETFD, 0) }
        let args =
            ["sysbox", "__monitor-idle", manager, name, "\(spawned.pid)"] + [spawned.pidfd, master, slave, listener, lock].map { "\($0)" }
            + [logPath, "\(consoleLogCap)", "\(managerFD)"] + clients.map { "\($0)" }
        let c = CStrings()
        let env = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }.sorted()
        execve(front, c.array(args), c.array(env))
        logger.warning("cannot exec the sysbox front \(front): \(Host.errnoText(errno))")
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    }

    /// The path of a pty's slave, from its master.
    static func ptyPath(of master: Int32) throws -> String {
        var name = [CChar](repeating: 0, count: 128)
        let rc = sysbox_pty_name(master, &name, Int32(name.count))
        guard rc == 0 else { throw SysboxError(.io, "the console pty: \(Host.errnoText(-rc))") }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A listening unix socket at `path` (relative to the cwd).
    static func listen(on path: String) throws -> Int32 {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SysboxError(.io, "cannot create the console socket: \(Host.errnoText(errno))") }
        let ok = ContainerConsole.withUnixAddress(path) { bind(fd, $0, $1) }
        guard ok == 0, Glibc.listen(fd, 8) == 0 else {
            let e = errno
            close(fd)
            throw SysboxError(.io, "cannot listen on the console socket: \(Host.errnoText(e))")
        }
        chmod(path, 0o600)
        return fd
    }

    /// After init is gone: remove the cgroup, pid files and socket, and record the stop.
    static func cleanup(stateDirectory: String, manager: Manager?, paths: ContainerPaths, name: String, listener: Int32) {
        Proxies.stop(directory: paths.directory, container: name)
        if listener >= 0 { close(listener) }
        unlink(paths.directory + "/" + ContainerPaths.consoleSocket)
        if let layout = try? CgroupLayout.host() {
            let cgroup = ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name)
            // Processes of the container die with its pid namespace; give the kernel a moment to reap them.
            for _ in 0..<50 {
                if (try? cgroup.remove()) != nil { break }
                usleep(20_000)
            }
        }
        try? manager?.runtime.recordPowerState(name, .stopped)
        if let layout = try? CgroupLayout.host() {
            ContainerCgroup.leaveMonitorCgroup(layout: layout, stateDirectory: stateDirectory)
        }
        // Last: while the monitor lives with a dead init's pid file, the container shows as Stopping.
        unlink(paths.execCache)
        unlink(paths.initPid)
        unlink(paths.monitorPid)
    }
}

/// The console log (sysbox_console_log): appends, and keeps the newest half when it reaches its cap.
struct ConsoleLog {
    var c = sysbox_console_log()

    init(path: String, cap: Int) {
        sysbox_console_log_open(&c, path, cap)
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { sysbox_console_log_append(&c, $0.baseAddress, $0.count) }
    }
}

/// One run of a container's monitor: prepares the console and cgroups (or takes them over on a
/// resume), boots init and serves its console (rebooting as often as init asks), and finishes by
/// cleaning up and recording the stop.
final class MonitorSession {
    let stateDirectory: String
    let name: String
    let paths: ContainerPaths
    let lock: Int32
    let status: StatusLine
    let logger = Logger(label: "sysbox.monitor")
    let started = DispatchTime.now()

    private(set) var plan: StartPlan?
    private var cgroup: ContainerCgroup?
    private var master: Int32 = -1
    private var slave: Int32 = -1
    private var slavePath = ""
    private var listener: Int32 = -1
    private var clients: [Int32] = []
    private var log: ConsoleLog?
    /// Whether this process has left the container's cgroups for the monitors' one.
    private var movedOut = false
    /// After a reboot: the exec cache of the previous boot, to point at the new init.
    private var carriedCache: String?

    init(stateDirectory: String, name: String, paths: ContainerPaths, lock: Int32, status: StatusLine) {
        self.stateDirectory = stateDirectory
        self.name = name
        self.paths = paths
        self.lock = lock
        self.status = status
    }

    /// Reads the plan and makes the console pty, socket and cgroups; on a resume, takes over the fds
    /// the idle front kept.
    func prepare(resume: Monitor.Resume?) throws {
        let plan = try StartPlan.load(from: paths.plan)
        self.plan = plan
        guard chdir(paths.directory) == 0 else { throw SysboxError(.io, "cannot enter \(paths.directory): \(Host.errnoText(errno))") }
        let layout = try CgroupLayout.host()
        if let resume {
            for fd in [resume.master, resume.slave, resume.listener, resume.lock] + resume.clients { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            (master, slave, listener, clients) = (resume.master, resume.slave, resume.listener, resume.clients)
            slavePath = try Monitor.ptyPath(of: master)
            cgroup = ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name)
            movedOut = true
        } else {
            try Host.writeAtomically("\(getpid()) \(Host.startTime(of: getpid()) ?? 0)\n", to: paths.monitorPid, durable: false)
            var ptyName = [CChar](repeating: 0, count: 128)
            master = sysbox_open_pty(&ptyName, Int32(ptyName.count))
            guard master >= 0 else { throw SysboxError(.io, "cannot allocate the console pty: \(Host.errnoText(-master))") }
            slavePath = String(decoding: ptyName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            slave = open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
            guard slave >= 0 else { throw SysboxError(.io, "cannot open \(slavePath): \(Host.errnoText(errno))") }
            listener = try Monitor.listen(on: ContainerPaths.consoleSocket)
            let cgroup = ContainerCgroup(layout: layout, stateDirectory: stateDirectory, name: name)
            self.cgroup = cgroup
            try? cgroup.remove()
            try cgroup.create()
            try cgroup.apply(plan.limits.limits)
            try cgroup.restrictDevices()
            // Proxy devices: their host ports are taken (or refused) before init exists.
            try Proxies.start(directory: paths.directory, container: name)
            if let ids = plan.userNamespace {
                try cgroup.delegate(uid: ids.rootUID, gid: ids.rootGID)
                // Its console is its root's (getty and systemd set modes and owners on it).
                guard fchown(slave, ids.rootUID, ids.rootGID) == 0 else {
                    throw SysboxError(.io, "cannot give the console \(slavePath) to the container's root: \(Host.errnoText(errno))")
                }
            }
            logger.debug("cgroups ready", metadata: ["ms": "\(Timing.ms(started, .now()))"])
        }
        log = ConsoleLog(path: paths.consoleLog, cap: Monitor.consoleLogCap)
    }

    /// Boots init (clone, NICs, release), reports it, then serves its console until it exits.
    func bootAndServe() throws -> Monitor.InitExit {
        let spawned = try boot()
        defer { close(spawned.pidfd) }
        Monitor.idle(
            name: name, init: spawned, master: master, slave: slave, listener: listener, lock: lock,
            clients: clients, logPath: paths.consoleLog, logger: logger)
        // Still here: the front could not be exec'd; this process serves the console itself.
        var log = self.log ?? ConsoleLog(path: paths.consoleLog, cap: Monitor.consoleLogCap)
        defer { self.log = log }
        return Monitor.serveConsole(init: spawned, master: master, listener: listener, clients: &clients, log: &log)
    }

    /// Clones init from the plan, attaches its NICs, releases it and records it (pid file, exec cache
    /// after a reboot, `ok PID` on the status line).
    private func boot() throws -> SpawnedInit {
        guard let plan, let cgroup else { throw SysboxError(.internalError, "the monitor boots before it is prepared") }
        // Read-only disks of an unprivileged container, staged here so that init's copy is locked.
        let (staged, staging) = try ReadOnlyDisks.stage(Lxcfs.answering(plan), directory: paths.staging)
        defer { staging?.release() }
        var spawned = try Spawner.spawn(plan: staged, cgroup: cgroup, consolePath: slavePath, consoleFD: slave, seccomp: try seccompFilter())
        logger.debug("cloned", metadata: ["ms": "\(Timing.ms(started, .now()))"])
        do {
            try BridgeFilters.install(container: plan.name, plan.nics ?? [])
            try NICAttach.attach(plan.nics ?? [], pid: spawned.pid)
        } catch {
            NICAttach.detach(plan.nics ?? [])
            throw abandon(spawned, error)
        }
        logger.debug("NICs attached", metadata: ["ms": "\(Timing.ms(started, .now()))"])
        do {
            try spawned.resume()
        } catch let failure as ChildFailure {
            throw failed(spawned, failure)
        }
        let startTime = Host.startTime(of: spawned.pid) ?? 0
        try Host.writeAtomically("\(spawned.pid) \(startTime)\n", to: paths.initPid, durable: false)
        if let cache = carriedCache {
            let lines = cache.split(separator: "\n", omittingEmptySubsequences: false).map {
                $0.hasPrefix("init ") ? "init \(spawned.pid) \(startTime)" : String($0)
            }
            try? Host.writeAtomically(lines.joined(separator: "\n"), to: paths.execCache, mode: 0o600, durable: false)
            carriedCache = nil
        }
        status.report("ok \(spawned.pid)")
        if !movedOut {
            // After reporting: the v1 hierarchies through `tasks` (cheap while single-threaded);
            // the cgroup2 one already, from its spawn (a cgroup.procs move only as a fallback).
            ContainerCgroup.enterMonitorCgroup(layout: cgroup.layout, stateDirectory: stateDirectory)
            movedOut = true
        }
        logger.debug("init running", metadata: ["ms": "\(Timing.ms(started, .now()))"])
        return spawned
    }

    /// The filter `start` wrote (containers/NAME/seccomp.bpf); the default policy when there is none (a
    /// container started by an earlier sysbox rebooting under this one).
    private func seccompFilter() throws -> [UInt8] {
        if let filter = SeccompPolicy.read(paths.seccompFilter) { return filter }
        logger.warning("no seccomp filter at \(paths.seccompFilter): init gets the default policy")
        return try SeccompPolicy.compile(SeccompPolicy.defaultRules(privileged: true))
    }

    /// A child that failed while building its filesystem: its own report says why (the cgroup move or
    /// the NIC attach of a dead child would only say "no such process").
    private func failed(_ spawned: SpawnedInit, _ failure: ChildFailure) -> SysboxError {
        var st: Int32 = 0
        waitpid(spawned.pid, &st, 0)
        close(spawned.pidfd)
        switch failure.kind {
        case .SYSBOX_STEP_EXEC?:
            return SysboxError(.io, "cannot execute init \(plan?.initPath ?? "") in the container's root filesystem: \(Host.errnoText(failure.errno))")
        case .SYSBOX_STEP_FILES?:
            let files = (plan?.writtenFiles ?? []).joined(separator: ", ")
            return SysboxError(
                .io,
                "\(failure.description): one of the paths sysbox writes at start (\(files)) has a symlink or a non-directory in its parent path in this container; fix that path in the container"
            )
        case .SYSBOX_STEP_SYSCTL?:
            return Sysctls.failure(failure, plan: plan)
        default:
            return SysboxError(.io, failure.description)
        }
    }

    /// A host-side step failed: the child's own failure if it had one, else kill it.
    private func abandon(_ spawned: SpawnedInit, _ error: Error) -> Error {
        if let failure = spawned.earlyFailure() { return failed(spawned, failure) }
        kill(spawned.pid, SIGKILL)
        var st: Int32 = 0
        waitpid(spawned.pid, &st, 0)
        close(spawned.pidfd)
        return error
    }

    /// Records how init ended; true when it asked for a reboot (reboot(2) in a pid namespace kills
    /// its init with SIGHUP for a restart, SIGINT for halt/poweroff). The exec cache names the old
    /// init: removed now; a reboot carries its content to the next init.
    func recordExit(_ exit: Monitor.InitExit) -> Bool {
        let previousCache = try? String(contentsOfFile: paths.execCache, encoding: .utf8)
        unlink(paths.execCache)
        try? Host.writeAtomically(Monitor.InitExit.describe(exit) + "\n", to: paths.lastStop, mode: 0o644)
        guard exit.signal == SIGHUP else { return false }
        carriedCache = previousCache
        log?.append(Array("\r\n[sysbox: \(plan?.name ?? name) is rebooting]\r\n".utf8))
        return true
    }

    /// After a failed start: the cleanup, without recording anything else.
    func abandon(manager: Manager?) {
        Monitor.cleanup(stateDirectory: stateDirectory, manager: manager, paths: paths, name: name, listener: listener)
        if master >= 0 { close(master) }
    }

    /// After init stopped for good: clients and NICs gone, cleanup, the stop recorded, an ephemeral
    /// container deleted.
    func finish(manager: Manager?) {
        clients.forEach { close($0) }
        NICAttach.detach(plan?.nics ?? [])
        Monitor.cleanup(stateDirectory: stateDirectory, manager: manager, paths: paths, name: name, listener: listener)
        close(slave)
        close(master)
        if plan?.ephemeral == true && !FileManager.default.fileExists(atPath: paths.restarting) {
            do { try manager.unwrap("the database").containers.deleteStoppedContainer(name) } catch {
                FileHandle.standardError.write(Data("sysbox monitor: deleting ephemeral \(name): \(error)\n".utf8))
            }
        }
    }
}
