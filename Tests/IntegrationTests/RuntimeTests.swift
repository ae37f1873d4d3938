import Foundation
import Testing

/// Real containers: these need root (namespaces, mounts, cgroups) and fail, never skip, without it.
@Suite(.serialized) struct RuntimeTests {
    init() throws {
        try #require(getuid() == 0, "the runtime tests boot real containers and must run as root")
    }

    func exec(_ s: Sandbox, _ name: String, _ command: String, env: [String: String] = [:]) throws -> RunResult {
        try s.run(["exec", name, "--", "sh", "-c", command], env: env)
    }

    @Test func bootExecStopDelete() throws {
        let s = try Sandbox.withoutNIC()
        let launch = try s.run(["launch", "busybox", "c1"])
        #expect(launch.status == 0, "\(launch.stderr)")
        #expect(launch.stdout == "Creating c1\nStarting c1\n")
        #expect(!launch.stderr.contains("Warning"), "\(launch.stderr)")
        let json = try s.ok(["list", "--format", "json"])
        let entry = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first)
        #expect(entry["status"] as? String == "Running")
        let pid = try #require(entry["pid"] as? Int)
        #expect(FileManager.default.fileExists(atPath: "/proc/\(pid)"))

        #expect(try s.ok(["exec", "c1", "--", "hostname"]) == "c1\n")
        #expect(try s.ok(["exec", "c1", "--", "cat", "/proc/1/comm"]) == "init\n")
        #expect(try s.ok(["exec", "c1", "--", "readlink", "/proc/1/exe"]) == "/bin/busybox\n")
        // Only the container's processes: init, the console shell, ps itself.
        let ps = try s.ok(["exec", "c1", "--", "ps", "-o", "pid,comm"]).split(separator: "\n").dropFirst()
        #expect(ps.count <= 3, "\(ps)")
        // A plain exec (no options, no terminal) takes the fast path from exec.cache; it sees config
        // changes of the running container at once, and gives the same results as the full path.
        #expect(FileManager.default.fileExists(atPath: s.stateDir + "/containers/c1/exec.cache"))
        try s.ok(["config", "set", "c1", "environment.GREETING=fast"])
        #expect(try s.ok(["exec", "c1", "--", "sh", "-c", "echo $GREETING $HOME $PWD"]) == "fast /root /root\n")
        #expect(try s.ok(["exec", "c1", "--", "sh", "-c", "echo $GREETING $HOME $PWD"], env: ["SYSBOX_NO_FAST_EXEC": "1"]) == "fast /root /root\n")
        let slowMissing = try s.run(["exec", "c1", "--", "no-such-command"], env: ["SYSBOX_NO_FAST_EXEC": "1"])
        #expect(slowMissing.status == 127)
        #expect(slowMissing.stderr == "Error: command \"no-such-command\" not found in container c1\n")
        try s.ok(["config", "unset", "c1", "environment.GREETING"])
        #expect(try s.ok(["exec", "c1", "--", "sh", "-c", "echo ${GREETING:-unset}"]) == "unset\n")
        #expect(try exec(s, "c1", "exit 0").status == 0)
        #expect(try exec(s, "c1", "exit 7").status == 7)
        #expect(try exec(s, "c1", "kill -9 $$").status == 137)
        let missing = try s.run(["exec", "c1", "--", "no-such-command"])
        #expect(missing.status == 127)
        #expect(missing.stderr == "Error: command \"no-such-command\" not found in container c1\n")
        #expect(try s.run(["exec", "c1", "--cwd", "/proc/self/fd", "--", "pwd"]).status != 0)
        #expect(try s.ok(["exec", "c1", "--cwd", "/tmp", "--env", "GREETING=hi", "--", "sh", "-c", "echo $GREETING $PWD $HOME $USER"]) == "hi /tmp /root root\n")
        #expect(try s.ok(["exec", "c1", "--user", "nobody", "--", "id", "-u"]) == "65534\n")
        // As that user: a directory it may not enter is refused, and the bounding set is reduced too.
        #expect(try s.run(["exec", "c1", "--user", "nobody", "--cwd", "/root", "--", "true"]).status == 125)
        let nobodyBnd = try s.ok(["exec", "c1", "--user", "nobody", "--", "grep", "CapBnd", "/proc/self/status"])
        let bnd = UInt64(nobodyBnd.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16) ?? ~0
        #expect(bnd & (1 << 16) == 0 && bnd & (1 << 17) == 0, "\(nobodyBnd)")
        // The exec'd command leaks no fd: only 0-2 (and the one ls opens).
        let fds = try s.ok(["exec", "c1", "--", "ls", "/proc/self/fd"]).split(separator: "\n")
        #expect(fds.count <= 4, "\(fds)")

        // A signal to sysbox exec reaches the command inside.
        let running = try s.start(["exec", "c1", "--", "sh", "-c", "trap 'echo got TERM; exit 42' TERM; sleep 29 & wait"])
        try waitUntil { try s.ok(["exec", "c1", "--", "ps"]).contains("sleep 29") }
        running.process.terminate()
        let signalled = try running.wait()
        #expect(signalled.status == 42, "\(signalled.stdout) \(signalled.stderr)")
        #expect(signalled.stdout == "got TERM\n")
        // The monitor left the caller's cgroup for sysbox's own.
        let monitorPid = try String(contentsOfFile: s.stateDir + "/containers/c1/monitor.pid", encoding: .utf8).split(separator: " ")[0]
        let monitorCgroups = String(decoding: readProc("/proc/\(monitorPid)/cgroup"), as: UTF8.self)
        // Idle, the monitor is the small C front (`sysbox __monitor-idle`), not the Swift CLI; it execs
        // the CLI back when init exits (the stop below, and reboots: rebootPoweroffEphemeralAndMonitorDeath).
        let monitorExe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(monitorPid)/exe")
        #expect(URL(fileURLWithPath: monitorExe).lastPathComponent == "sysbox", "\(monitorExe)")
        #expect(String(decoding: readProc("/proc/\(monitorPid)/cmdline"), as: UTF8.self).contains("__monitor-idle\u{0}"))
        // In every hierarchy (the cgroup2 one from its clone, the v1 ones by itself).
        let monitorLines = monitorCgroups.split(separator: "\n")
        #expect(!monitorLines.isEmpty && monitorLines.allSatisfy { $0.hasSuffix("/sysbox/\(cgroupHash(s.stateDir))/.monitors") }, "\(monitorCgroups)")
        // And init in every hierarchy of its own cgroup (v1: it joined itself; cgroup2: cloned into it).
        let initLines = String(decoding: readProc("/proc/\(pid)/cgroup"), as: UTF8.self).split(separator: "\n")
        #expect(!initLines.isEmpty && initLines.allSatisfy { $0.hasSuffix("/sysbox/\(cgroupHash(s.stateDir))/c1") }, "\(initLines)")
        let info = try s.ok(["info", "c1"])
        #expect(info.contains("Status: RUNNING") && info.contains("PID: \(pid)") && info.contains("Processes:") && info.contains("Memory usage:"))

        try s.fails(["start", "c1"], "container c1 is already running")
        try s.fails(["delete", "c1"], "container c1 is running; stop it first")
        try s.ok(["stop", "c1"])
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "c1,STOPPED,,busybox,0\n")
        try s.fails(["exec", "c1", "--", "true"], "container c1 is not running; start it with: sysbox start c1")
        try s.fails(["stop", "c1"], "container c1 is not running")
        #expect(s.leftovers() == [])
        try s.fails(["rename", "c1", "Bad_Name"], "invalid container name")
        try s.ok(["rename", "c1", "c2"])
        try s.ok(["rename", "c2", "c1"])
        try s.ok(["start", "c1"])
        try s.fails(["rename", "c1", "c3"], "container c1 is running; stop it first")
        try s.ok(["restart", "c1", "--force"])
        #expect(try s.ok(["exec", "c1", "--", "hostname"]) == "c1\n")
        try s.ok(["delete", "--force", "c1"])
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "")
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/c1"))
        #expect(s.leftovers() == [])
    }

    @Test func hardeningSeenFromInside() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "h1"])
        // CAP_SYS_MODULE 16, CAP_SYS_RAWIO 17, CAP_SYS_TIME 25, CAP_MAC_OVERRIDE 32, CAP_MAC_ADMIN 33.
        for file in ["/proc/1/status", "/proc/self/status"] {
            let line = try s.ok(["exec", "h1", "--", "grep", "CapBnd", file])
            let mask = try #require(UInt64(line.split(separator: "\t").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "", radix: 16))
            for cap in [16, 17, 25, 32, 33] { #expect(mask & (1 << UInt64(cap)) == 0, "cap \(cap) in \(file): \(line)") }
            #expect(mask & (1 << 21) != 0, "CAP_SYS_ADMIN must stay")
        }
        #expect(try exec(s, "h1", "cat /proc/keys /proc/timer_list /proc/kallsyms | wc -c").stdout == "0\n")
        #expect(try exec(s, "h1", "ls -A /sys/firmware | wc -l").stdout == "0\n")
        #expect(try exec(s, "h1", "echo 1 > /proc/sys/kernel/panic").status != 0)
        #expect(try exec(s, "h1", "echo 1 > /proc/sysrq-trigger").status != 0)
        #expect(try exec(s, "h1", "cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward").status == 0)
        #expect(try exec(s, "h1", "touch /sys/x").status != 0)
        let mounts = try s.ok(["exec", "h1", "--", "cat", "/proc/self/mountinfo"])
        #expect(mounts.contains(" /proc/sys ro,") && mounts.contains(" /sys ro,"))
        #expect(mounts.contains("/dev/pts") && mounts.contains("/dev/shm") && mounts.contains("/dev/mqueue"))
        // Its own cgroup namespace: every hierarchy starts at the container's cgroup.
        let cgroups = try s.ok(["exec", "h1", "--", "cat", "/proc/self/cgroup"]).split(separator: "\n")
        #expect(cgroups.allSatisfy { $0.hasSuffix(":/") }, "\(cgroups)")
        #expect(try exec(s, "h1", "test -c /dev/console && test -c /dev/null && test -L /dev/ptmx && test -L /dev/fd").status == 0)
        #expect(try exec(s, "h1", "ip link show lo | grep -q UP || ifconfig lo | grep -q UP").status == 0)
        // Inheritable and ambient sets are empty; an inheritable set of whoever starts sysbox does not
        // bring the dropped capabilities back.
        try s.ok(["stop", "--force", "h1"])
        let setpriv = try runProcess(
            "/usr/bin/setpriv", ["--inh-caps=+sys_module,+sys_rawio,+sys_time", s.binary, "start", "h1"],
            env: ["SYSBOX_DIR": s.stateDir])
        #expect(setpriv.status == 0, "\(setpriv.stderr)")
        for file in ["/proc/1/status", "/proc/self/status"] {
            let status = try s.ok(["exec", "h1", "--", "cat", file])
            for field in ["CapInh", "CapAmb"] {
                #expect(status.contains("\(field):\t0000000000000000"), "\(field) in \(file): \(status)")
            }
            let eff = status.split(separator: "\n").first { $0.hasPrefix("CapEff") }.flatMap { UInt64($0.split(separator: "\t").last ?? "", radix: 16) } ?? 0
            for cap in [16, 17, 25] { #expect(eff & (1 << UInt64(cap)) == 0, "cap \(cap) effective in \(file)") }
        }
        // A clean environment for init.
        let env = try s.ok(["exec", "h1", "--", "sh", "-c", "tr '\\0' '\\n' < /proc/1/environ"])
        #expect(env.contains("container=sysbox\n") && env.contains("container_uuid="))
        try s.ok(["delete", "--force", "h1"])
        #expect(s.leftovers() == [])
    }

    /// CVE-2019-5736 class: no process in a container ever has the host's sysbox binary as its
    /// executable, so /proc/<pid>/exe cannot lead a container to it, not even through a command whose
    /// interpreter line is `#!/proc/self/exe` (which makes the kernel run whatever the exec'ing process
    /// runs). Container processes are started by a trampoline exec'd from a sealed memfd.
    @Test func procSelfExeNeverLeadsToTheHostBinary() throws {
        let s = try Sandbox.withoutNIC()
        let binaries = Set([s.binary, URL(fileURLWithPath: s.binary).resolvingSymlinksInPath().path]).filter {
            FileManager.default.fileExists(atPath: $0)
        }
        let before = try binaries.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        try s.ok(["launch", "busybox", "v1"])
        // The process that entered the namespaces stays outside the container's PID namespace.
        #expect(try exec(s, "v1", "echo $PPID").stdout == "0\n")
        // init was exec'd through the trampoline too, and is the image's init now.
        #expect(try exec(s, "v1", "readlink /proc/1/exe").stdout == "/bin/busybox\n")
        // /tmp/sh runs the trampoline (the exec'ing process's /proc/self/exe) as its interpreter, which
        // forks busybox as "sh": that shell's parent is then the interpreter, visible in the container.
        try s.ok(["exec", "v1", "--", "sh", "-c", "printf '#!/proc/self/exe /bin/busybox\\n' > /tmp/sh && chmod +x /tmp/sh"])
        let probe = """
            exe=$(readlink /proc/$PPID/exe); echo "exe=$exe"
            if echo pwned >> /proc/$PPID/exe; then echo wrote; else echo refused; fi
            echo size=$(wc -c < /proc/$PPID/exe)
            """
        for _ in 0..<3 {
            let r = try s.run(["exec", "v1", "--", "/tmp/sh", "-c", probe])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("exe=/memfd:sysbox-enter (deleted)\n"), "\(r.stdout)")
            #expect(r.stdout.contains("refused\n") && !r.stdout.contains("wrote"), "\(r.stdout)")
            #expect(!r.stdout.contains("size=0\n"), "\(r.stdout)")
        }
        // The same through an interactive exec and the plain `/proc/self/exe` line (the trampoline
        // refuses arguments that are not its own: 127, nothing runs).
        try s.ok(["exec", "v1", "--", "sh", "-c", "printf '#!/proc/self/exe\\n' > /tmp/evil && chmod +x /tmp/evil"])
        #expect(try s.run(["exec", "v1", "--", "/tmp/evil"]).status == 127)
        try s.ok(["exec", "v1", "--", "sh", "-c", "cat > /tmp/probe"], stdin: probe)
        let t = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) exec v1 -- /tmp/sh /tmp/probe", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir])
        #expect(t.stdout.contains("exe=/memfd:sysbox-enter (deleted)") && t.stdout.contains("refused"), "\(t.stdout)")
        let after = try binaries.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        #expect(before == after, "the host binary changed")
        try s.ok(["delete", "--force", "v1"])
        #expect(s.leftovers() == [])
    }

    @Test func limitsAppliedAndEnforced() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "l1", "-c", "limits.memory=64MiB", "-c", "limits.processes=20", "-c", "limits.cpu=1"])
        let hash = cgroupHash(s.stateDir)
        let memory = "/sys/fs/cgroup/memory/sysbox/\(hash)/l1/memory.limit_in_bytes"
        #expect(try String(contentsOfFile: memory, encoding: .utf8) == "67108864\n")
        #expect(try String(contentsOfFile: "/sys/fs/cgroup/pids/sysbox/\(hash)/l1/pids.max", encoding: .utf8) == "20\n")
        #expect(try String(contentsOfFile: "/sys/fs/cgroup/cpu/sysbox/\(hash)/l1/cpu.cfs_quota_us", encoding: .utf8) == "100000\n")
        // Visible inside through the container's own cgroup tree.
        #expect(try s.ok(["exec", "l1", "--", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]) == "67108864\n")
        // A fork bomb is capped at 20 processes.
        let bomb = try exec(s, "l1", "for i in $(seq 40); do sleep 2 & done")
        #expect(bomb.stderr.contains("can't fork"), "\(bomb.stderr)")
        let current =
            Int(
                try String(contentsOfFile: "/sys/fs/cgroup/pids/sysbox/\(hash)/l1/pids.current", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 99
        #expect(current <= 20)
        usleep(2_500_000)
        // Live update.
        try s.ok(["config", "set", "l1", "limits.memory=128MiB"])
        #expect(try String(contentsOfFile: memory, encoding: .utf8) == "134217728\n")
        // A change naming a CPU this host lacks is refused as a whole (memory included).
        let before = try s.dump()
        try s.fails(["config", "set", "l1", "limits.memory=256MiB", "limits.cpu=0-4000"], "limits.cpu=0-4000 names CPUs this host does not have")
        #expect(try s.dump() == before)
        #expect(try String(contentsOfFile: memory, encoding: .utf8) == "134217728\n")
        // Through a profile too.
        try s.ok(["profile", "create", "big"], stdin: "config:\n  limits.memory: 96MiB\n")
        try s.ok(["config", "unset", "l1", "limits.memory"])
        try s.ok(["profile", "add", "l1", "big"])
        #expect(try String(contentsOfFile: memory, encoding: .utf8) == "100663296\n")
        try s.ok(["profile", "set", "big", "limits.memory=80MiB"])
        #expect(try String(contentsOfFile: memory, encoding: .utf8) == "83886080\n")
        try s.ok(["delete", "--force", "l1"])
        #expect(s.leftovers() == [])
    }

    /// Run without the C front (sysbox-manager alone), the monitor stays the Swift CLI for its idle
    /// phase: console, reboot from inside and stop work the same.
    @Test func monitorWithoutTheFront() throws {
        let s = try Sandbox.withoutNIC()
        let lone = s.root + "/lone"
        try FileManager.default.createDirectory(atPath: lone, withIntermediateDirectories: true)
        let manager = URL(fileURLWithPath: s.binary).deletingLastPathComponent().appendingPathComponent("sysbox-manager").path
        try FileManager.default.copyItem(atPath: manager, toPath: lone + "/sysbox-manager")
        let env = ["SYSBOX_DATA_DIR": repositoryRoot]
        func run(_ args: [String]) throws -> RunResult { try s.run(args, env: env, binary: lone + "/sysbox-manager") }
        #expect(try run(["launch", "busybox", "w1"]).status == 0)
        let monitorPid = try String(contentsOfFile: s.stateDir + "/containers/w1/monitor.pid", encoding: .utf8).split(separator: " ")[0]
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(monitorPid)/exe")
        #expect(exe.hasSuffix("/lone/sysbox-manager"), "\(exe)")
        #expect(try run(["exec", "w1", "--", "sh", "-c", "echo via-console > /dev/console"]).status == 0)
        try waitUntil { try run(["console", "w1", "--show-log"]).stdout.contains("via-console") }
        let before = try run(["list", "--format", "json"]).stdout
        #expect(try run(["exec", "w1", "--", "reboot"]).status == 0)
        try waitUntil {
            let now = try run(["list", "--format", "json"]).stdout; return now != before && now.contains("\"Running\"")
        }
        #expect(try run(["stop", "w1"]).status == 0)
        #expect(try run(["info", "w1"]).stdout.contains("Last stop: clean"))
        #expect(try run(["delete", "w1"]).status == 0)
        #expect(s.leftovers() == [])
    }

    @Test func rebootPoweroffEphemeralAndMonitorDeath() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "r1"])
        let pid1 = try s.ok(["list", "--format", "json"])
        try s.ok(["exec", "r1", "--", "reboot"])
        // The monitor starts a new init after the reboot.
        var rebooted = false
        for _ in 0..<100 {
            usleep(100_000)
            let now = try s.ok(["list", "--format", "json"])
            if now != pid1 && now.contains("\"Running\"") { rebooted = true; break }
        }
        #expect(rebooted)
        // The exec cache follows the new init (the fast path keeps working after a reboot).
        try waitUntil {
            (try? String(contentsOfFile: s.stateDir + "/containers/r1/exec.cache", encoding: .utf8))?.contains(
                "init \(try s.ok(["list", "--format", "json"]).split(separator: "\"pid\":")[1].split(separator: ",")[0]) ") == true
        }
        #expect(try s.ok(["exec", "r1", "--", "hostname"]) == "r1\n")
        try s.ok(["exec", "r1", "--", "poweroff"])
        var stopped = false
        for _ in 0..<100 {
            usleep(100_000)
            if try s.ok(["list", "--format", "csv,noheader"]) == "r1,STOPPED,,busybox,0\n" { stopped = true; break }
        }
        #expect(stopped)
        #expect(try s.ok(["console", "r1", "--show-log"]).contains("Requesting system poweroff"))

        // An ephemeral container is deleted when it stops.
        try s.ok(["launch", "busybox", "e1", "--ephemeral"])
        try s.ok(["stop", "e1", "--force"])
        #expect(!(try s.ok(["list", "--format", "csv,noheader"]).contains("e1,")))
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/e1"))

        // kill -9 of the monitor takes the container down with it; list tells the truth and start works.
        try s.ok(["start", "r1"])
        let monitor = try #require(Int32(try String(contentsOfFile: s.stateDir + "/containers/r1/monitor.pid", encoding: .utf8).split(separator: " ")[0]))
        kill(monitor, SIGKILL)
        var down = false
        for _ in 0..<50 {
            usleep(100_000)
            if try s.ok(["list", "--format", "csv,noheader"]) == "r1,STOPPED,,busybox,0\n" { down = true; break }
        }
        #expect(down)
        try s.ok(["start", "r1"])
        #expect(try s.ok(["exec", "r1", "--", "hostname"]) == "r1\n")
        try s.ok(["delete", "--force", "r1"])
        #expect(s.leftovers() == [])
    }

    @Test func interactiveExecGetsAPtyFromTheContainer() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "t1"])
        let r = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) exec t1 -- sh -c 'tty; test -e $(tty) && echo exists; exit 3'", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir])
        #expect(r.stdout.contains("/dev/pts/0"), "\(r.stdout) \(r.stderr)")
        #expect(r.stdout.contains("exists"))
        #expect(r.status == 3)
        let plain = try s.ok(["exec", "t1", "--", "sh", "-c", "tty || true"])
        #expect(plain == "not a tty\n")
        // Without a pty (-T) on a terminal, the command gets pipes, never the host's terminal (no TIOCSTI
        // into the admin's shell), and has no controlling terminal.
        let noPty = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) exec -T t1 -- sh -c 'tty; readlink /proc/self/fd/0; readlink /proc/self/fd/1; cat /dev/tty'", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir])
        #expect(noPty.stdout.contains("not a tty"), "\(noPty.stdout)")
        #expect(noPty.stdout.contains("pipe:["), "\(noPty.stdout)")
        #expect(!noPty.stdout.contains("/dev/pts"), "\(noPty.stdout)")
        #expect(noPty.stdout.contains("can't open '/dev/tty'"), "\(noPty.stdout)")
        // The exec helper keeps none of the CLI's files (database, pipes): only 0, 1, 2.
        let long = try s.start(["exec", "t1", "--", "sleep", "5"])
        try waitUntil { try s.ok(["exec", "t1", "--", "ps"]).contains("sleep 5") }
        // The helper is the CLI's child, running the trampoline (a sealed memfd) by now.
        let procs = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int32($0) != nil }
        let cli = procs.filter {
            String(decoding: readProc("/proc/\($0)/cmdline"), as: UTF8.self).contains("exec\u{0}t1\u{0}--\u{0}sleep\u{0}5")
        }
        let helpers = procs.filter { pid in
            let status = String(decoding: readProc("/proc/\(pid)/status"), as: UTF8.self)
            let ppid = status.split(separator: "\n").first { $0.hasPrefix("PPid:") }?.split(separator: "\t").last.map(String.init) ?? ""
            return cli.contains(ppid)
        }
        #expect(cli.count == 1 && helpers.count == 1, "\(cli) \(helpers)")
        for helper in helpers {
            let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(helper)/exe")
            #expect(exe == "/memfd:sysbox-enter (deleted)", "\(exe ?? "none")")
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(helper)/fd")) ?? []
            #expect(Set(fds) == ["0", "1", "2"], "\(fds)")
        }
        _ = try long.wait()
        try s.ok(["delete", "--force", "t1"])
    }

    @Test func diskDevicesAndFailedStarts() throws {
        let s = try Sandbox.withoutNIC()
        let shared = s.root + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try "from the host\n".write(toFile: shared + "/hello", atomically: true, encoding: .utf8)
        try s.ok(["create", "busybox", "d1"])
        try s.ok(["config", "device", "add", "d1", "data", "disk", "source=\(shared)", "path=/mnt/data", "readonly=true"])
        try s.ok(["start", "d1"])
        #expect(try s.ok(["exec", "d1", "--", "cat", "/mnt/data/hello"]) == "from the host\n")
        #expect(try exec(s, "d1", "touch /mnt/data/x").status != 0)
        try s.ok(["stop", "d1", "--force"])
        // A source gone by the time of the start: a clear error naming the device, the container stays
        // stopped, nothing left.
        try FileManager.default.createDirectory(atPath: s.root + "/missing", withIntermediateDirectories: true)
        try s.ok(["config", "device", "set", "d1", "data", "source=\(s.root)/missing"])
        try FileManager.default.removeItem(atPath: s.root + "/missing")
        try s.fails(["start", "d1"], "cannot start d1: device data: source \(s.root)/missing does not exist")
        #expect(try s.ok(["info", "d1"]).contains("Last start failed: device data: source"))
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "d1,STOPPED,,busybox,0\n")
        #expect(s.leftovers() == [])
        // A symlink in the rootfs cannot lead a mount out of it.
        try s.ok(["config", "device", "set", "d1", "data", "source=\(shared)", "path=/escape/data"])
        try FileManager.default.createSymbolicLink(atPath: s.stateDir + "/containers/d1/upper/escape", withDestinationPath: s.root)
        try s.fails(["start", "d1"], "mounting a disk device failed: ELOOP")
        #expect(!FileManager.default.fileExists(atPath: s.root + "/data"))
        #expect(s.leftovers() == [])
        try s.ok(["delete", "d1"])

        // A FIFO where a rendered file goes is replaced by a regular file (never written through).
        try s.ok(["create", "busybox", "fifo"])
        try FileManager.default.createDirectory(atPath: s.stateDir + "/containers/fifo/upper/etc", withIntermediateDirectories: true)
        #expect(mkfifo(s.stateDir + "/containers/fifo/upper/etc/hostname", 0o644) == 0)
        try s.ok(["start", "fifo"])
        #expect(try s.ok(["exec", "fifo", "--", "cat", "/etc/hostname"]) == "fifo\n")
        try s.ok(["delete", "--force", "fifo"])

        // A read-only disk is read-only all the way down: mounts below its source stay out.
        try s.ok(["create", "busybox", "ro"])
        try s.ok(["config", "device", "add", "ro", "data", "disk", "source=\(shared)", "path=/mnt/data", "readonly=true"])
        try FileManager.default.createDirectory(atPath: shared + "/sub", withIntermediateDirectories: true)
        #expect(mount("tmpfs", shared + "/sub", "tmpfs", 0, nil) == 0)
        defer { umount2(shared + "/sub", Int32(MNT_DETACH)) }
        try s.ok(["start", "ro"])
        #expect(try exec(s, "ro", "touch /mnt/data/sub/x").status != 0)
        #expect(!FileManager.default.fileExists(atPath: shared + "/sub/x"))
        try s.ok(["delete", "--force", "ro"])
        umount2(shared + "/sub", Int32(MNT_DETACH))

        // A root filesystem without its init: a clear error, stopped, nothing left.
        try s.ok(["create", "busybox", "noinit"])
        try FileManager.default.createDirectory(atPath: s.stateDir + "/containers/noinit/upper/sbin", withIntermediateDirectories: true)
        // An overlay whiteout (a 0:0 character device) hides /sbin/init of the image.
        #expect(mknod(s.stateDir + "/containers/noinit/upper/sbin/init", S_IFCHR | 0o000, 0) == 0)
        try s.fails(["start", "noinit"], "cannot start noinit: cannot execute init /sbin/init in the container's root filesystem: ENOENT")
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "noinit,STOPPED,,busybox,0\n")
        #expect(s.leftovers() == [])
    }

    /// Files written in a container survive a restart, with both storage drivers; the image is shared.
    @Test(arguments: ["overlay", "dir"])
    func storageDrivers(_ driver: String) throws {
        let s = try Sandbox.withoutNIC()
        let env = ["SYSBOX_STORAGE_DRIVER": driver]
        try s.ok(["launch", "busybox", "s1"], env: env)
        try s.ok(["exec", "s1", "--", "sh", "-c", "echo kept > /root/file"], env: env)
        try s.ok(["restart", "s1", "--force"], env: env)
        #expect(try s.ok(["exec", "s1", "--", "cat", "/root/file"], env: env) == "kept\n")
        let settings = try runProcess("/usr/bin/sqlite3", [s.dbPath, "SELECT value FROM settings WHERE key = 'storage.driver'"])
        #expect(settings.stdout == driver + "\n")
        let upper = s.stateDir + "/containers/s1/" + (driver == "overlay" ? "upper" : "rootfs") + "/root/file"
        #expect(FileManager.default.fileExists(atPath: upper))
        try s.fails(["image", "delete", "busybox"], "image busybox is used by 1 container: s1")
        try s.ok(["delete", "--force", "s1"], env: env)
        try s.ok(["image", "delete", "busybox"])
        #expect(try s.ok(["image", "list", "--format", "csv,noheader"]) == "")
        #expect(s.leftovers() == [])
    }

    @Test func consoleEphemeralRestartAndSlowClients() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "con"])
        // Attach, run a command on the console shell, detach with Ctrl-a q.
        let script = "(sleep 0.5; printf 'echo hello-$((6*7))\\r'; sleep 0.7; printf '\\001q') | script -qec '\(s.binary) console con' /dev/null"
        let attach = try runProcess("/bin/bash", ["-c", script], env: ["SYSBOX_DIR": s.stateDir])
        #expect(attach.status == 0, "\(attach.stderr)")
        #expect(attach.stdout.contains("hello-42"), "\(attach.stdout)")
        #expect(try s.ok(["console", "con", "--show-log"]).contains("hello-42"))
        // Ctrl-C on the console interrupts the console shell's command, never init (no reboot).
        let pidBefore = try s.ok(["list", "--format", "json"])
        let ctrlC =
            "(sleep 0.5; printf 'sleep 30\\r'; sleep 0.6; printf '\\003'; sleep 0.4; printf 'echo after-$((2+3))\\r'; sleep 0.6; printf '\\001q') | script -qec '\(s.binary) console con' /dev/null"
        let interrupted = try runProcess("/bin/bash", ["-c", ctrlC], env: ["SYSBOX_DIR": s.stateDir])
        #expect(interrupted.stdout.contains("after-5"), "\(interrupted.stdout)")
        #expect(try s.ok(["list", "--format", "json"]) == pidBefore)
        #expect(!(try s.ok(["console", "con", "--show-log"]).contains("job control turned off")))
        // Without a terminal, the console detaches when its input ends.
        let noTTY = try s.run(["console", "con"])
        #expect(noTTY.status == 0)
        // A console client that never reads does not wedge the monitor.
        let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let dir = open(s.stateDir + "/containers/con", O_RDONLY | O_DIRECTORY)
        defer { close(dir); close(sock) }
        let path = "/proc/self/fd/\(dir)/console.sock"
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in _ = path.withCString { strncpy(raw.baseAddress!.assumingMemoryBound(to: CChar.self), $0, raw.count - 1) } }
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(sock, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(connected == 0)
        try s.ok(["exec", "con", "--", "sh", "-c", "yes console-flood | head -c 4000000 > /dev/console"])
        #expect(try s.ok(["exec", "con", "--", "echo", "alive"]) == "alive\n")
        try s.ok(["stop", "con", "--timeout", "5"])
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "con,STOPPED,,busybox,0\n")

        // An ephemeral container survives a restart, and delete --force of a running one succeeds.
        try s.ok(["launch", "busybox", "eph", "--ephemeral"])
        try s.ok(["restart", "eph", "--force"])
        #expect(try s.ok(["exec", "eph", "--", "hostname"]) == "eph\n")
        try s.ok(["delete", "--force", "eph"])
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/eph"))
        try s.ok(["delete", "con"])
        #expect(s.leftovers() == [])
    }

    /// A build that fails half-way (the disk fills up while busybox is copied) leaves no image, no
    /// build directory, no container.
    @Test func failedImageBuildLeavesNothing() throws {
        let s = try Sandbox.withoutNIC()
        let tiny = s.root + "/tiny"
        try FileManager.default.createDirectory(atPath: tiny, withIntermediateDirectories: true)
        #expect(mount("tmpfs", tiny, "tmpfs", 0, "size=1m") == 0)
        defer { umount2(tiny, Int32(MNT_DETACH)) }
        let env = ["SYSBOX_DIR": tiny + "/state"]
        let r = try runProcess(s.binary, ["launch", "busybox", "x1"], env: env)
        #expect(r.status != 0)
        #expect(r.stderr.contains("Error: cannot build image busybox: "), "\(r.stderr)")
        #expect(r.stderr.contains("ENOSPC (No space left on device); nothing was kept"), "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tiny + "/state/images") == [])
        let counts = try runProcess(
            "/usr/bin/sqlite3", [tiny + "/state/sysbox.db", "SELECT (SELECT COUNT(*) FROM images) + (SELECT COUNT(*) FROM containers) + (SELECT COUNT(*) FROM operations)"])
        #expect(counts.stdout == "0\n")
        #expect(!FileManager.default.fileExists(atPath: tiny + "/state/containers/x1"))
    }

    @Test func unknownImageAndBadInputLeaveNothing() throws {
        let s = try Sandbox.withoutNIC()
        // A bad storage driver is refused before any image is built.
        try s.fails(["launch", "busybox", "z1"], "unknown storage driver zfs", env: ["SYSBOX_STORAGE_DRIVER": "zfs"])
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: s.stateDir + "/images")) ?? []).isEmpty)
        // Several names: every one is checked before any is started or stopped.
        try s.ok(["launch", "busybox", "ok1"])
        try s.fails(["stop", "ok1", "nope"], "container nope not found")
        #expect(try s.ok(["list", "ok1", "--format", "csv,noheader"]).hasPrefix("ok1,RUNNING"))
        try s.ok(["stop", "--force", "ok1"])
        try s.fails(["start", "ok1", "nope"], "container nope not found")
        #expect(try s.ok(["list", "ok1", "--format", "csv,noheader"]).hasPrefix("ok1,STOPPED"))
        // What only the host can tell is checked when it is set, not at the next start.
        let cpus = ContainerCgroupInfo.onlineCount()
        try s.fails(["config", "set", "ok1", "limits.cpu=\(cpus + 1)"], "asks for more CPUs than this host has")
        try s.fails(["config", "set", "ok1", "limits.cpu=0-4000"], "names CPUs this host does not have")
        try s.fails(["config", "device", "add", "ok1", "d", "disk", "source=\(s.root)/missing", "path=/d"], "source \(s.root)/missing does not exist on this host")
        try s.fails(["profile", "set", "default", "limits.cpu=0-4000"], "names CPUs this host does not have")
        // An id map sysbox cannot give is refused at the start, in one line naming the key and the fix.
        try s.fails(["config", "set", "ok1", "security.idmap.size=100"], "a map needs at least 65536 ids")
        try s.ok(["config", "set", "ok1", "raw.idmap=both 1000005 5"])
        try s.fails(["start", "ok1"], "raw.idmap maps host uids 1000005, inside the ids sysbox gives containers")
        #expect(try s.ok(["list", "ok1", "--format", "csv,noheader"]).hasPrefix("ok1,STOPPED"))
        try s.ok(["config", "unset", "ok1", "raw.idmap"])
        try s.ok(["start", "ok1"])
        let badUser = try s.run(["exec", "ok1", "--user", "bogus", "--", "true"])
        #expect(badUser.status == 125 && badUser.stderr.contains("user bogus not found"))
        #expect(try s.run(["exec", "ok1", "--cwd", "/proc", "--", "true"]).status == 125)
        #expect(try s.run(["exec", "ok1", "--cwd", "/nonexistent", "--", "true"]).status == 125)
        try s.ok(["delete", "--force", "ok1"])
        try s.fails(["launch", "nosuchimage", "x1"], "image nosuchimage not found; templates: busybox")
        try s.fails(["launch", "busybx", "x1"], "did you mean busybox?")
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "")
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/x1"))
        try s.fails(["exec", "nosuch", "--", "true"], "container nosuch not found")
        try s.fails(["start", "nosuch"], "container nosuch not found")
        try s.fails(["console", "nosuch"], "container nosuch not found")
        try s.fails(["stop", "nosuch"], "container nosuch not found")
        try s.fails(["rename", "nosuch", "other"], "container nosuch not found")
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/nosuch"))
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/locks/nosuch.lock"))
    }

    /// `kill -9` of `sysbox launch` at any moment: the next command finds a consistent state (the
    /// container is either gone without a trace, or present and startable), and delete repairs.
    @Test func killedLaunchesLeaveAConsistentState() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["image", "build", "busybox"])
        for (i, delay) in [0, 5_000, 15_000, 30_000, 60_000, 120_000].enumerated() {
            let launch = try s.start(["launch", "busybox", "k\(i)"])
            usleep(useconds_t(delay))
            kill(launch.process.processIdentifier, SIGKILL)
            _ = try launch.wait()
            let list = try s.ok(["list", "--format", "csv,noheader"])
            let dir = s.stateDir + "/containers/k\(i)"
            if list.contains("k\(i),") {
                // Recorded: its storage is complete, so it can run (a monitor already launched finishes
                // the start on its own: STARTING, then RUNNING).
                if !list.contains("k\(i),RUNNING") {
                    let start = try s.run(["start", "k\(i)"])
                    #expect(start.status == 0 || start.stderr.contains("is already running"), "\(start.stderr)")
                }
                #expect(try s.ok(["exec", "k\(i)", "--", "hostname"]) == "k\(i)\n")
            } else {
                #expect(!FileManager.default.fileExists(atPath: dir), "delay \(delay): \(dir) left without a record")
            }
            let ops = try runProcess("/usr/bin/sqlite3", [s.dbPath, "SELECT COUNT(*) FROM operations WHERE status = 'running'"])
            #expect(ops.stdout == "0\n", "delay \(delay)")
        }
        let names = try s.ok(["list", "--format", "csv,noheader"]).split(separator: "\n").map { String($0.split(separator: ",")[0]) }
        if !names.isEmpty { try s.ok(["delete", "--force"] + names) }
        #expect(s.leftovers() == [])
    }

    @Test func tenConcurrentLaunches() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["image", "build", "busybox"])
        let launches = try (0..<10).map { try s.start(["launch", "busybox", "p\($0)"]) }
        let results = try launches.map { try $0.wait() }
        #expect(results.map(\.status) == Array(repeating: 0, count: 10), "\(results.map(\.stderr))")
        let running = try s.ok(["list", "status=running", "--format", "csv,noheader"]).split(separator: "\n")
        #expect(running.count == 10)
        try s.ok(["delete", "--force"] + (0..<10).map { "p\($0)" })
        #expect(s.leftovers() == [])
    }
}
