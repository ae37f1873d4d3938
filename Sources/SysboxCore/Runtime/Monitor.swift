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

    /// Runs the monitor of container `name` until the container stops. `statusFD` receives one line,
    /// `ok PID` once init runs or `error MESSAGE`, then is closed. The database is opened (by
    /// `openManager`) only at the end, to record the stop: a running monitor holds no database memory.
    /// Returns the process exit code.
    /// Where a monitor continues after its idle phase (`sysbox __monitor-idle`, the C front) saw init
    /// exit: init's wait status and the fds it kept.
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

    public static func run(stateDirectory: String, name: String, statusFD: Int32, openManager: () throws -> Manager,
                           resume: Resume? = nil) -> Int32 {
        let paths = ContainerPaths(stateDirectory: stateDirectory, name: name)
        let logger = Logger(label: "sysbox.monitor")
        let started = DispatchTime.now()
        let status = StatusLine(fd: statusFD)
        // Writes to a gone console client, or to a child that failed before its release, return EPIPE
        // instead of killing the monitor (init's signals are reset to the defaults before its execve).
        signal(SIGPIPE, SIG_IGN)
        func report(_ line: String) { status.report(line) }
        let cgroup: ContainerCgroup
        let plan: StartPlan
        var consoleMaster: Int32 = -1
        var consoleSlave: Int32 = -1
        var listener: Int32 = -1
        // One monitor per container: held for the monitor's whole life (released by the kernel when it
        // dies); never inherited by init (CLOEXEC).
        let monitorLock = resume?.lock ?? open(paths.monitorLock, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard monitorLock >= 0, flock(monitorLock, LOCK_EX | LOCK_NB) == 0 else {
            report("error another monitor is already running container \(name)")
            return 1
        }
        // A resume continues this container's own monitor: its lock fd must be that lock (taken
        // again above: a no-op on the monitor's own open file, refused for anyone else's).
        if resume != nil {
            var held = stat(), file = stat()
            guard fstat(monitorLock, &held) == 0, stat(paths.monitorLock, &file) == 0,
                  held.st_dev == file.st_dev, held.st_ino == file.st_ino else {
                FileHandle.standardError.write(Data("sysbox monitor: __monitor-resume without \(name)'s monitor lock\n".utf8))
                return 1
            }
        }
        do {
            plan = try StartPlan.load(from: paths.plan)
            guard chdir(paths.directory) == 0 else { throw SysboxError(.io, "cannot enter \(paths.directory): \(Host.errnoText(errno))") }
            let slavePath: String
            if let resume {
                for fd in [resume.master, resume.slave, resume.listener, resume.lock] + resume.clients { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
                (consoleMaster, consoleSlave, listener) = (resume.master, resume.slave, resume.listener)
                slavePath = try ptyPath(of: consoleMaster)
                cgroup = ContainerCgroup(layout: try CgroupLayout.host(), stateDirectory: stateDirectory, name: name)
            } else {
                try Host.writeAtomically("\(getpid()) \(Host.startTime(of: getpid()) ?? 0)\n", to: paths.monitorPid, durable: false)
                var ptyName = [CChar](repeating: 0, count: 128)
                consoleMaster = sysbox_open_pty(&ptyName, Int32(ptyName.count))
                guard consoleMaster >= 0 else { throw SysboxError(.io, "cannot allocate the console pty: \(Host.errnoText(-consoleMaster))") }
                slavePath = String(decoding: ptyName.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                consoleSlave = open(slavePath, O_RDWR | O_NOCTTY | O_CLOEXEC)
                guard consoleSlave >= 0 else { throw SysboxError(.io, "cannot open \(slavePath): \(Host.errnoText(errno))") }
                listener = try listen(on: ContainerPaths.consoleSocket)
                cgroup = ContainerCgroup(layout: try CgroupLayout.host(), stateDirectory: stateDirectory, name: name)
                try? cgroup.remove()
                try cgroup.create()
                try cgroup.apply(plan.limits.limits)
                logger.debug("cgroups ready", metadata: ["ms": "\(Manager.ms(started, .now()))"])
            }
            var log = ConsoleLog(path: paths.consoleLog, cap: consoleLogCap)
            var clients: [Int32] = resume?.clients ?? []
            var rebooting = true
            var movedOut = resume != nil
            var carriedCache: String?
            var pending = resume.map { InitExit(status: $0.status) }
            while rebooting {
                rebooting = false
                let exit: InitExit
                if let done = pending {
                    exit = done
                    pending = nil
                } else {
                var spawned = try Spawner.spawn(plan: plan, cgroup: cgroup, consolePath: slavePath, consoleFD: consoleSlave)
                logger.debug("cloned", metadata: ["ms": "\(Manager.ms(started, .now()))"])
                // A child that failed while building its filesystem: its own report says why (the
                // cgroup move or the NIC attach of a dead child would only say "no such process").
                func failed(_ failure: ChildFailure) -> SysboxError {
                    var st: Int32 = 0
                    waitpid(spawned.pid, &st, 0)
                    close(spawned.pidfd)
                    if failure.step == 24 {
                        return SysboxError(.io, "cannot execute init \(plan.initPath) in the container's root filesystem: \(Host.errnoText(failure.errno))")
                    }
                    if failure.step == 32 {
                        let files = plan.files.map { "/" + $0.path }.joined(separator: ", ")
                        return SysboxError(.io, "\(failure.description): one of the paths sysbox writes at start (\(files)) has a symlink or a non-directory in its parent path in this container; fix that path in the container")
                    }
                    return SysboxError(.io, failure.description)
                }
                // A host-side step failed: the child's own failure if it had one, else kill it.
                func abandon(_ error: Error) -> Error {
                    if let failure = spawned.earlyFailure() { return failed(failure) }
                    kill(spawned.pid, SIGKILL)
                    var st: Int32 = 0
                    waitpid(spawned.pid, &st, 0)
                    close(spawned.pidfd)
                    return error
                }
                do {
                    try NICAttach.attach(plan.nics ?? [], pid: spawned.pid)
                } catch {
                    NICAttach.detach(plan.nics ?? [])
                    throw abandon(error)
                }
                logger.debug("NICs attached", metadata: ["ms": "\(Manager.ms(started, .now()))"])
                do {
                    try spawned.resume()
                } catch let failure as ChildFailure {
                    throw failed(failure)
                }
                let startTime = Host.startTime(of: spawned.pid) ?? 0
                try Host.writeAtomically("\(spawned.pid) \(startTime)\n", to: paths.initPid, durable: false)
                // After a reboot: the exec cache of the previous boot, pointed at the new init.
                if let cache = carriedCache {
                    let lines = cache.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasPrefix("init ") ? "init \(spawned.pid) \(startTime)" : String($0) }
                    try? Host.writeAtomically(lines.joined(separator: "\n"), to: paths.execCache, mode: 0o600, durable: false)
                    carriedCache = nil
                }
                report("ok \(spawned.pid)")
                if !movedOut {
                    // After reporting: the v1 hierarchies through `tasks` (cheap while single-threaded);
                    // the cgroup2 one already, from its spawn (a cgroup.procs move only as a fallback).
                    ContainerCgroup.enterMonitorCgroup(layout: cgroup.layout, stateDirectory: stateDirectory)
                    movedOut = true
                }
                logger.debug("init running", metadata: ["ms": "\(Manager.ms(started, .now()))"])
                idle(name: name, init: spawned, master: consoleMaster, slave: consoleSlave, listener: listener, lock: monitorLock,
                     clients: clients, logPath: paths.consoleLog, logger: logger)
                // Still here: the front could not be exec'd; this process serves the console itself.
                exit = loop(init: spawned, master: consoleMaster, listener: listener, clients: &clients, log: &log)
                close(spawned.pidfd)
                }
                // reboot(2) in a pid namespace kills its init with SIGHUP for a restart, SIGINT for halt/poweroff.
                // The cache names the old init: remove it now; a reboot carries its content to the next init.
                let previousCache = try? String(contentsOfFile: paths.execCache, encoding: .utf8)
                unlink(paths.execCache)
                try? Host.writeAtomically(InitExit.describe(exit) + "\n", to: paths.lastStop, mode: 0o644)
                if exit.signal == SIGHUP {
                    carriedCache = previousCache
                    log.append(Array("\r\n[sysbox: \(plan.name) is rebooting]\r\n".utf8))
                    rebooting = true
                }
            }
            clients.forEach { close($0) }
            NICAttach.detach(plan.nics ?? [])
        } catch {
            report("error \(error)")
            cleanup(stateDirectory: stateDirectory, manager: try? openManager(), paths: paths, name: name, listener: listener)
            if consoleMaster >= 0 { close(consoleMaster) }
            return 1
        }
        let manager = try? openManager()
        cleanup(stateDirectory: stateDirectory, manager: manager, paths: paths, name: name, listener: listener)
        close(consoleSlave)
        close(consoleMaster)
        if plan.ephemeral && !FileManager.default.fileExists(atPath: paths.restarting) {
            do { try manager.unwrap("the database").containers.deleteStoppedContainer(name) } catch {
                FileHandle.standardError.write(Data("sysbox monitor: deleting ephemeral \(name): \(error)\n".utf8))
            }
        }
        return 0
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

    /// Serves the console until init exits; returns how it ended.
    static func loop(init spawned: SpawnedInit, master: Int32, listener: Int32, clients: inout [Int32], log: inout ConsoleLog) -> InitExit {
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            var fds = [pollfd(fd: spawned.pidfd, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: master, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            fds += clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let n = poll(&fds, nfds_t(fds.count), -1)
            if n < 0 { if errno == EINTR { continue } else { break } }
            if fds[1].revents & Int16(POLLIN) != 0 {
                let got = read(master, &buffer, buffer.count)
                if got > 0 {
                    let chunk = Array(buffer[0..<got])
                    log.append(chunk)
                    clients = clients.filter { fd in
                        let sent = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
                        if sent == chunk.count { return true }
                        close(fd)
                        return false
                    }
                }
            }
            if fds[2].revents & Int16(POLLIN) != 0 {
                let fd = accept(listener, nil, nil)
                if fd >= 0 {
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    // Non-blocking: a client that stops reading is dropped, never waited for.
                    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                    clients.append(fd)
                }
            }
            var closed: Set<Int32> = []
            for i in 3..<fds.count where fds[i].revents != 0 {
                let got = read(fds[i].fd, &buffer, buffer.count)
                if got > 0 {
                    _ = buffer.withUnsafeBytes { write(master, $0.baseAddress, got) }
                } else if got < 0 && (errno == EAGAIN || errno == EINTR) {
                    continue
                } else {
                    closed.insert(fds[i].fd)
                    close(fds[i].fd)
                }
            }
            clients.removeAll { closed.contains($0) }
            if fds[0].revents != 0 {
                var st: Int32 = 0
                while waitpid(spawned.pid, &st, 0) < 0 && errno == EINTR {}
                // Drain what init wrote last.
                while true {
                    var p = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
                    guard poll(&p, 1, 0) > 0, p.revents & Int16(POLLIN) != 0 else { break }
                    let got = read(master, &buffer, buffer.count)
                    guard got > 0 else { break }
                    log.append(Array(buffer[0..<got]))
                }
                return InitExit(status: st)
            }
        }
        return InitExit(code: nil, signal: nil)
    }

    /// Hands the idle phase to the small `sysbox` front (`sysbox __monitor-idle`, monitor_idle.c):
    /// execve keeps this pid (init stays its child), the fds and the monitor's flock, and drops the
    /// Swift binary's dirty memory (USS ~1.9 MiB → see the Benchmarks section). The front execs
    /// `sysbox-manager __monitor-resume` when init exits, which continues in `run(resume:)`. Returns
    /// only when the front is missing or cannot be exec'd.
    static func idle(name: String, init spawned: SpawnedInit, master: Int32, slave: Int32, listener: Int32, lock: Int32,
                     clients: [Int32], logPath: String, logger: Logger) {
        guard let manager = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return }
        let dir = URL(fileURLWithPath: manager).deletingLastPathComponent()
        let candidates = [dir.appendingPathComponent("sysbox").path,
                          dir.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("bin/sysbox").path]
        guard let front = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            logger.warning("no sysbox front next to \(manager): the monitor stays the Swift CLI")
            return
        }
        // The exact binary to come back to, whatever happens to its path while init runs.
        let managerFD = open(manager, SYSBOX_O_PATH | O_CLOEXEC)
        defer { if managerFD >= 0 { close(managerFD) } }
        let fds = [spawned.pidfd, master, slave, listener, lock, managerFD].filter { $0 >= 0 } + clients
        for fd in fds { _ = fcntl(fd, F_SETFD, 0) }
        let args = ["sysbox", "__monitor-idle", manager, name, "\(spawned.pid)"] + [spawned.pidfd, master, slave, listener, lock].map { "\($0)" }
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
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            if let base = raw.baseAddress { _ = path.withCString { strncpy(base.assumingMemoryBound(to: CChar.self), $0, raw.count - 1) } }
        }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
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

/// The console log: appends, and keeps the newest half when it reaches its cap.
struct ConsoleLog {
    let path: String
    let cap: Int
    private var fd: Int32
    private var size: Int

    init(path: String, cap: Int) {
        self.path = path
        self.cap = cap
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        var st = stat()
        size = fstat(fd, &st) == 0 ? Int(st.st_size) : 0
    }

    mutating func append(_ bytes: [UInt8]) {
        guard fd >= 0 else { return }
        if size + bytes.count > cap, let data = FileManager.default.contents(atPath: path) {
            let keep = data.suffix(cap / 2)
            ftruncate(fd, 0)
            _ = keep.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            size = keep.count
        }
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        if n > 0 { size += n }
    }
}
