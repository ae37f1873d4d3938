import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// dnsmasq for one managed network: DHCP with a static reservation per lease and DNS for
/// `<container>.<dns.domain>`, bound to the bridge only. A network monitor (`sysbox __network-monitor
/// NAME`, detached, one per network, holding `monitor.lock` in the network's run directory) runs it in
/// the foreground and restarts it when it dies.
public enum DNSMasq {
    /// One container NIC as DNS and DHCP see it.
    public struct Entry: Sendable, Equatable {
        public var container: String
        public var device: String
        public var hwaddr: String
        public var address: String
    }

    static func dir(_ network: String) -> String { HostNetwork.directory(network) }

    /// The command line (without the program) for a network's settings.
    static func arguments(_ s: NetworkSettings) -> [String] {
        let d = dir(s.name)
        var args = [
            "--keep-in-foreground", "--conf-file=/dev/null", "--log-facility=-", "--pid-file=\(d)/dnsmasq.pid",
            "--strict-order", "--bind-interfaces", "--except-interface=lo", "--interface=\(s.name)",
            "--listen-address=\(s.gateway)", "--user=nobody", "--group=nogroup", "--no-hosts",
            "--hostsdir=\(d)/hosts", "--domain=\(s.domain)", "--local=/\(s.domain)/", "--domain-needed",
            // No line per DHCP packet: a container could flood the log (on the host's /run).
            "--quiet-dhcp", "--quiet-dhcp6", "--quiet-ra"
        ]
        if s.dhcp {
            let mask = IPv4Address(~UInt32(0) << UInt32(32 - s.subnet.prefix))
            args += [
                "--dhcp-range=\(s.subnet.network),static,\(mask),1h", "--dhcp-hostsdir=\(d)/dhcp-hosts",
                "--dhcp-leasefile=\(d)/dnsmasq.leases", "--dhcp-authoritative", "--dhcp-no-override",
                "--dhcp-option=option:router,\(s.gateway)", "--dhcp-option=option:dns-server,\(s.gateway)"
            ]
        }
        return args
    }

    /// Writes one hosts file (DNS) and one dhcp-hosts file (reservation) per container, removing those of
    /// containers that no longer have a lease. dnsmasq watches both directories (inotify) and reads new
    /// files at once; it does not forget a removed or changed reservation, nor always a removed name, so
    /// then it is told to reread everything (SIGHUP).
    static func writeHosts(network: String, domain: String, _ hosts: [Entry]) throws {
        var reload = false
        let d = dir(network)
        let fm = FileManager.default
        for sub in ["hosts", "dhcp-hosts"] {
            try fm.createDirectory(atPath: "\(d)/\(sub)", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        let byContainer = Dictionary(grouping: hosts, by: \.container)
        for (container, entries) in byContainer {
            let dns = entries.map { "\($0.address) \(container).\(domain) \(container)\n" }.joined()
            let dhcp = entries.map { "\($0.hwaddr),\($0.address),\(container)\n" }.joined()
            _ = try writeIfChanged(dns, to: "\(d)/hosts/\(container)")
            if try writeIfChanged(dhcp, to: "\(d)/dhcp-hosts/\(container)") == .changed { reload = true }
        }
        for sub in ["hosts", "dhcp-hosts"] {
            for file in (try? fm.contentsOfDirectory(atPath: "\(d)/\(sub)")) ?? [] where byContainer[file] == nil {
                unlink("\(d)/\(sub)/\(file)")
                reload = true
            }
        }
        if reload { signalDnsmasq(network, SIGHUP) }
    }

    enum Write { case same, created, changed }

    /// Written next to the watched directory and renamed in: dnsmasq never reads a partial file.
    private static func writeIfChanged(_ text: String, to path: String) throws -> Write {
        let old = try? String(contentsOfFile: path, encoding: .utf8)
        if old == text { return .same }
        let dir = (path as NSString).deletingLastPathComponent
        let tmp = (dir as NSString).deletingLastPathComponent + "/.tmp-\(getpid())-" + (path as NSString).lastPathComponent
        guard FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw SysboxError(.io, "cannot write \(tmp): \(Host.errnoText(errno))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw SysboxError(.io, "cannot rename \(tmp) to \(path): \(Host.errnoText(e))")
        }
        return old == nil ? .created : .changed
    }

    /// The pid of the network's dnsmasq (from its pid file, checked against its command line).
    static func dnsmasqPid(_ network: String) -> Int32? {
        let pidFile = dir(network) + "/dnsmasq.pid"
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
            let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            String(decoding: cmdline, as: UTF8.self).contains("--pid-file=\(pidFile)")
        else { return nil }
        return pid
    }

    static func signalDnsmasq(_ network: String, _ signal: Int32) {
        if let pid = dnsmasqPid(network) { kill(pid, signal) }
    }

    static func argumentsPath(_ network: String) -> String { dir(network) + "/dnsmasq.args" }

    static func saveArguments(_ args: [String], network: String) throws {
        try Host.writeAtomically(args.joined(separator: "\n") + "\n", to: argumentsPath(network), mode: 0o644)
    }

    static func currentArguments(_ network: String) -> [String]? {
        (try? String(contentsOfFile: argumentsPath(network), encoding: .utf8))?.split(separator: "\n").map(String.init)
    }

    /// The arguments the running dnsmasq was started with (the monitor writes them once it runs).
    static func runningArguments(_ network: String) -> [String]? {
        (try? String(contentsOfFile: dir(network) + "/dnsmasq.running", encoding: .utf8))?.split(separator: "\n").map(String.init)
    }

    static func monitorLockPath(_ network: String) -> String { dir(network) + "/monitor.lock" }
    static func monitorPidPath(_ network: String) -> String { dir(network) + "/monitor.pid" }

    /// Whether the network's monitor runs (it holds `monitor.lock` for its whole life).
    static func monitorAlive(_ network: String) -> Bool { Host.lockHeld(monitorLockPath(network)) }

    static func monitorPid(_ network: String) -> Int32? {
        guard monitorAlive(network), let entry = PidFile.read(monitorPidPath(network)), PidFile.isAlive(entry) else { return nil }
        return entry.pid
    }

    static func signalMonitor(_ network: String, _ signal: Int32) {
        if let pid = monitorPid(network) { kill(pid, signal) }
    }

    /// Stops the monitor (SIGTERM: it stops dnsmasq and exits) and waits up to 5 s; a dnsmasq left by
    /// a killed monitor is ended too.
    static func stopMonitor(_ network: String) {
        if let pid = monitorPid(network) {
            kill(pid, SIGTERM)
            for _ in 0..<250 where monitorAlive(network) { usleep(20_000) }
        }
        killStaleDnsmasq(network)
    }

    /// Ends a dnsmasq whose pid file (written by dnsmasq, checked against its command line) names a
    /// process still running with this network's arguments.
    static func killStaleDnsmasq(_ network: String) {
        let pidFile = dir(network) + "/dnsmasq.pid"
        guard let pid = dnsmasqPid(network) else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
        if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        unlink(pidFile)
    }

    /// Whether dnsmasq (the program) is installed.
    static var program: String? {
        ["/usr/sbin/dnsmasq", "/sbin/dnsmasq", "/usr/bin/dnsmasq"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The network monitor: runs dnsmasq with the saved arguments, restarts it when it dies (at most
    /// once a second), restarts it with new arguments on SIGHUP, stops it and exits on SIGTERM or
    /// SIGINT. `statusFD` gets `ok PID` once dnsmasq serves, or `error MESSAGE`.
    public static func runMonitor(network: String, statusFD: Int32) -> Int32 {
        let status = StatusLine(fd: statusFD)
        func report(_ line: String) { status.report(line) }
        func log(_ text: String) {
            let line = "sysbox network monitor \(network): \(text)\n"
            _ = line.withCString { write(2, $0, strlen($0)) }
        }
        // Detached from whoever started it: no SIGPIPE from a launcher gone, no working directory held,
        // out of the launcher's cgroup (a stopped login session or unit must not take dnsmasq with it).
        signal(SIGPIPE, SIG_IGN)
        chdir("/")
        let layout = try? CgroupLayout.host()
        let state = ProcessInfo.processInfo.environment["SYSBOX_DIR"]
        if let layout, let state { ContainerCgroup.enterMonitorCgroup(layout: layout, stateDirectory: state) }
        defer { if let layout, let state { ContainerCgroup.leaveMonitorCgroup(layout: layout, stateDirectory: state) } }
        let lock = open(monitorLockPath(network), O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            report("error another monitor already runs dnsmasq for network \(network)")
            return 1
        }
        guard let program else {
            report("error dnsmasq is not installed; install the Debian package dnsmasq-base")
            return 1
        }
        try? Host.writeAtomically("\(getpid()) \(Host.startTime(of: getpid()) ?? 0)\n", to: monitorPidPath(network), durable: false)
        killStaleDnsmasq(network)
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGCHLD, SIGHUP, SIGTERM, SIGINT] { sigaddset(&signals, s) }
        sigprocmask(SIG_BLOCK, &signals, nil)
        var child: pid_t = 0
        var lastStart: UInt64 = 0
        var stopping = false
        while !stopping {
            // At most one start a second (monotonic clock: immune to clock steps).
            let now = DispatchTime.now().uptimeNanoseconds
            if lastStart > 0, now - lastStart < 1_000_000_000 { usleep(UInt32((1_000_000_000 - (now - lastStart)) / 1000)) }
            lastStart = DispatchTime.now().uptimeNanoseconds
            unlink(dir(network) + "/dnsmasq.pid")
            capLog()
            guard let args = currentArguments(network) else {
                report("error \(argumentsPath(network)) is missing")
                return 1
            }
            child = spawn(program, args)
            guard child > 0 else {
                report("error cannot run \(program): \(Host.errnoText(-child))")
                return 1
            }
            try? Host.writeAtomically(args.joined(separator: "\n") + "\n", to: dir(network) + "/dnsmasq.running", mode: 0o644)
            if status.pending {
                guard waitServing(network, child: &child) else {
                    if child > 0 { kill(child, SIGKILL); waitpid(child, nil, 0) }
                    report("error dnsmasq did not start for network \(network); see \(dir(network))/monitor.log")
                    return 1
                }
                report("ok \(getpid())")
            }
            switch waitEvent(&signals, child: child) {
            case let .exited(code):
                log("dnsmasq (pid \(child)) ended with status \(code); restarting it")
            case .reload:
                log("restarting dnsmasq with new settings")
                terminate(child)
                lastStart = 0
            case .stop:
                terminate(child)
                stopping = true
            }
            child = 0
        }
        unlink(dir(network) + "/dnsmasq.pid")
        unlink(dir(network) + "/dnsmasq.running")
        unlink(monitorPidPath(network))
        return 0
    }

    /// The monitor's log (stderr, shared with dnsmasq) stays under 1 MiB: emptied when it grew past that.
    static func capLog() {
        var st = stat()
        if fstat(2, &st) == 0, st.st_size > 1 << 20 { ftruncate(2, 0) }
    }

    /// Waits (5 s at most) until dnsmasq has written its pid file, which it does after binding its
    /// sockets. `child` becomes 0 when dnsmasq exited meanwhile (reaped).
    static func waitServing(_ network: String, child: inout pid_t) -> Bool {
        for _ in 0..<250 {
            var st: Int32 = 0
            if waitpid(child, &st, WNOHANG) == child { child = 0; return false }
            if let text = try? String(contentsOfFile: dir(network) + "/dnsmasq.pid", encoding: .utf8), Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) == child {
                return true
            }
            usleep(20_000)
        }
        return false
    }

    /// What ends one run of dnsmasq.
    enum MonitorEvent {
        /// dnsmasq exited on its own (reaped), with this wait status.
        case exited(Int32)
        /// SIGHUP: restart it with new arguments.
        case reload
        /// SIGTERM or SIGINT: stop it and exit.
        case stop
    }

    /// Waits (`sigtimedwait` on the blocked `signals`, 5 s at a time, keeping the log capped) for
    /// dnsmasq's exit or a signal to the monitor.
    static func waitEvent(_ signals: inout sigset_t, child: pid_t) -> MonitorEvent {
        while true {
            var info = siginfo_t()
            var timeout = timespec(tv_sec: 5, tv_nsec: 0)
            let sig = sigtimedwait(&signals, &info, &timeout)
            capLog()
            var st: Int32 = 0
            if child > 0, waitpid(child, &st, WNOHANG) == child { return .exited(st) }
            if sig == SIGHUP { return .reload }
            if sig == SIGTERM || sig == SIGINT { return .stop }
        }
    }

    /// SIGTERM, then SIGKILL after 2 s; reaps it.
    static func terminate(_ pid: pid_t) {
        guard pid > 0 else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if waitpid(pid, nil, WNOHANG) == pid { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, nil, 0)
    }

    /// dnsmasq with stdin on /dev/null, stdout and stderr the monitor's (its log), and only PATH and
    /// SYSBOX_DIR in its environment. Returns the pid or -errno.
    static func spawn(_ program: String, _ args: [String]) -> pid_t {
        let env = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] + (ProcessInfo.processInfo.environment["SYSBOX_DIR"].map { ["SYSBOX_DIR=\($0)"] } ?? [])
        return Host.spawn(program, arguments: args, environment: env) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_adddup2(&actions, 2, 1)
        }
    }
}
