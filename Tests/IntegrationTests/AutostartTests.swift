import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `sysbox autostart` and `sysbox shutdown` (issue 15 item 1), and the systemd unit that runs them.
@Suite(.serialized) struct AutostartTests {
    /// The pid a container's pid file names (`pid starttime`), only while that very process lives.
    static func livePid(_ s: Sandbox, _ name: String, _ file: String) -> Int32? {
        guard let text = try? String(contentsOfFile: "\(s.stateDir)/containers/\(name)/\(file)", encoding: .utf8) else { return nil }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, let pid = Int32(parts[0]) else { return nil }
        // Field 22 of /proc/PID/stat (after the parenthesised command) is the start time.
        let stat = String(decoding: readProc("/proc/\(pid)/stat"), as: UTF8.self)
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 19 && fields[19] == parts[1] ? pid : nil
    }

    /// A power cut for these containers: SIGKILL to each monitor, then its init (the monitor first, so
    /// that it cannot record the stop), as the host losing power would; waits until none runs.
    static func powerCut(_ s: Sandbox, _ names: [String]) throws {
        for name in names {
            let monitor = try #require(livePid(s, name, "monitor.pid"), "\(name) has no live monitor")
            let initPid = try #require(livePid(s, name, "init.pid"), "\(name) has no live init")
            kill(monitor, SIGKILL)
            kill(initPid, SIGKILL)
        }
        for _ in 0..<200 {
            let now = try statuses(s)
            if names.allSatisfy({ now[$0] == "STOPPED" }) { return }
            usleep(50_000)
        }
        throw HarnessError("containers still running after the power cut: \(try s.ok(["list"]))")
    }

    static func statuses(_ s: Sandbox) throws -> [String: String] {
        var out: [String: String] = [:]
        for row in try s.ok(["list", "--format", "csv,noheader"]).split(separator: "\n") {
            let parts = row.split(separator: ",", omittingEmptySubsequences: false)
            out[String(parts[0])] = String(parts[1])
        }
        return out
    }

    /// shutdown records the last state; autostart starts boot.autostart=true and, unset, what was running,
    /// in boot.autostart.priority order, waiting boot.autostart.delay, and forgets the last state.
    @Test func priorityOrderAndLastState() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "a", "-c", "boot.autostart=true", "-c", "boot.autostart.priority=10"])
        try s.ok(["create", "busybox", "b", "-c", "boot.autostart=true", "-c", "boot.autostart.delay=2"])
        try s.ok(["create", "busybox", "c"])  // unset: running at shutdown
        try s.ok(["create", "busybox", "d"])  // unset: stopped at shutdown
        try s.ok(["create", "busybox", "e", "-c", "boot.autostart=false"])  // running at shutdown, never autostarted
        try s.ok(["create", "busybox", "f", "-c", "boot.autostart=yes", "-c", "boot.autostart.priority=5"])
        try s.ok(["start", "c", "e"])
        let down = try s.run(["shutdown"])
        #expect(down.status == 0, "\(down.stderr)")
        #expect(Set(down.stdout.split(separator: "\n")) == ["c: stopped", "e: stopped"], "\(down.stdout)")
        #expect(try s.ok(["config", "get", "c", "volatile.last_state.power"]) == "RUNNING\n")
        #expect(try s.ok(["config", "get", "e", "volatile.last_state.power"]) == "RUNNING\n")
        #expect(try s.ok(["config", "get", "d", "volatile.last_state.power"]) == "STOPPED\n")
        #expect(try Self.statuses(s).values.allSatisfy { $0 == "STOPPED" })
        // Nothing running: a second shutdown (the host's, after one by hand) stops nothing, says
        // nothing, and keeps what the first one recorded.
        #expect(try s.ok(["shutdown"]) == "")
        #expect(try s.ok(["config", "get", "c", "volatile.last_state.power"]) == "RUNNING\n")

        // One at a time: the lines are the order of the starts; b's delay holds the start of c.
        let began = Date()
        let up = try s.run(["autostart", "--parallel", "1"])
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stdout == "a: started\nf: started\nb: started\nc: started\n", "\(up.stdout)")
        #expect(Date().timeIntervalSince(began) >= 2)
        #expect(try Self.statuses(s) == ["a": "RUNNING", "b": "RUNNING", "c": "RUNNING", "d": "STOPPED", "e": "STOPPED", "f": "RUNNING"])
        // The last state describes one shutdown: autostart forgets it.
        for name in ["c", "d", "e"] { #expect(try s.ok(["config", "get", name, "volatile.last_state.power"]) == "\n") }
        // Again: the chosen ones run already, nothing else starts (c was running at no shutdown now, but
        // its state of record is running: a power loss would start it).
        let again = try s.run(["autostart"])
        #expect(again.status == 0)
        #expect(Set(again.stdout.split(separator: "\n")) == ["a: already running", "b: already running", "c: already running", "f: already running"], "\(again.stdout)")
        // Stopped by hand, c stays stopped at the next autostart (no shutdown recorded it running).
        try s.ok(["stop", "c"])
        #expect(!(try s.ok(["autostart"]).contains("c:")))
        #expect(try Self.statuses(s)["c"] == "STOPPED")
        // A shutdown by hand records c running; started and stopped by hand after it, c stays stopped
        // at the host's own shutdown and the autostart after it (the stop forgets the recorded state).
        try s.ok(["start", "c"])
        try s.ok(["shutdown"])
        #expect(try s.ok(["config", "get", "c", "volatile.last_state.power"]) == "RUNNING\n")
        try s.ok(["start", "c"])
        try s.ok(["stop", "c"])
        #expect(try s.ok(["config", "get", "c", "volatile.last_state.power"]) == "\n")
        try s.ok(["shutdown"])
        #expect(!(try s.ok(["autostart"]).contains("c:")))
        #expect(try Self.statuses(s)["c"] == "STOPPED")
    }

    /// A power cut (monitors and inits killed, nothing recorded) then autostart brings back what ran,
    /// except boot.autostart=false; what was stopped stays stopped.
    @Test func powerCutThenAutostart() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "p1"])
        try s.ok(["create", "busybox", "p2", "-c", "boot.autostart.priority=3"])
        try s.ok(["create", "busybox", "p3", "-c", "boot.autostart=false"])
        try s.ok(["create", "busybox", "p4"])
        try s.ok(["create", "busybox", "p5", "-c", "boot.autostart=true"])
        try s.ok(["start", "p1", "p2", "p3", "p4"])
        try s.ok(["stop", "p4"])
        try Self.powerCut(s, ["p1", "p2", "p3"])
        #expect(try Self.statuses(s).values.allSatisfy { $0 == "STOPPED" })
        let up = try s.run(["autostart"])
        #expect(up.status == 0, "\(up.stderr)")
        let lines = up.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "p2: started", "\(up.stdout)")  // priority 3 first
        #expect(Set(lines) == ["p1: started", "p2: started", "p5: started"], "\(up.stdout)")
        #expect(try Self.statuses(s) == ["p1": "RUNNING", "p2": "RUNNING", "p3": "STOPPED", "p4": "STOPPED", "p5": "RUNNING"])
        #expect(try s.ok(["exec", "p1", "--", "echo", "back"]) == "back\n")
    }

    /// shutdown goes by boot.stop.priority, all of a priority at once, and kills one that ignores its
    /// stop signal after its boot.host_shutdown_timeout, saying so.
    @Test func shutdownOrderAndTimeout() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "s1", "-c", "boot.stop.priority=10"])
        try s.ok(["create", "busybox", "s2"])
        try s.ok(["create", "busybox", "s3", "-c", "boot.host_shutdown_timeout=1"])
        try s.ok(["create", "busybox", "s4", "-c", "boot.stop.priority=-5"])
        // s3's busybox init runs a shutdown action that never ends: its stop signal stops nothing.
        let inittab = try s.write("inittab", "::sysinit:/etc/init.d/rcS\n::respawn:-/bin/sh\n::shutdown:/bin/sleep 1000\n")
        try s.ok(["file", "push", inittab, "s3/etc/inittab"])
        try s.ok(["start", "s1", "s2", "s3", "s4"])
        let began = Date()
        let down = try s.run(["shutdown"])
        let took = Date().timeIntervalSince(began)
        #expect(down.status == 0, "\(down.stderr)")
        let lines = down.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4 && lines.first == "s1: stopped" && lines.last == "s4: stopped", "\(down.stdout)")
        #expect(Set(lines.dropFirst().dropLast()) == ["s2: stopped", "s3: killed (SIGKILL) after 1 s without a clean stop (boot.host_shutdown_timeout)"], "\(down.stdout)")
        // s2 and s3 stopped together: about s3's timeout, not the sum of the stops.
        #expect(took >= 1 && took < 20, "\(took)")
        #expect(try Self.statuses(s).values.allSatisfy { $0 == "STOPPED" })
        for name in ["s1", "s2", "s3", "s4"] { #expect(try s.ok(["config", "get", name, "volatile.last_state.power"]) == "RUNNING\n") }
        #expect(try s.ok(["info", "s3"]).contains("Last stop: killed"))
        #expect(try s.ok(["info", "s2"]).contains("Last stop: clean"))
        // All come back at the next boot.
        let up = try s.run(["autostart"])
        #expect(Set(up.stdout.split(separator: "\n")) == ["s1: started", "s2: started", "s3: started", "s4: started"], "\(up.stdout)")
        // A zero timeout kills at once.
        try s.ok(["config", "set", "s1", "boot.host_shutdown_timeout=0"])
        #expect(try s.ok(["shutdown"]).contains("s1: killed (SIGKILL) after 0 s without a clean stop"))
    }

    /// A container that cannot start does not stop the others: its line has the reason, the exit
    /// status is 1, and `info` shows the reason afterwards.
    @Test func failedStartDoesNotStopTheOthers() throws {
        let s = try Sandbox.withoutNIC()
        let source = s.root + "/data"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try s.ok(["create", "busybox", "bad", "-c", "boot.autostart=true", "-c", "boot.autostart.priority=10", "--device", "data,path=/mnt,source=\(source)"])
        try s.ok(["create", "busybox", "ok1", "-c", "boot.autostart=true", "-c", "boot.autostart.priority=10"])
        try s.ok(["create", "busybox", "ok2", "-c", "boot.autostart=true"])
        try FileManager.default.removeItem(atPath: source)  // gone after a reboot
        let up = try s.run(["autostart"])
        #expect(up.status == 1)
        #expect(up.stderr == "", "\(up.stderr)")
        let lines = up.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3 && lines.contains("ok1: started") && lines.last == "ok2: started", "\(up.stdout)")
        let failure = try #require(lines.first { $0.hasPrefix("bad: failed: ") }, "\(up.stdout)")
        #expect(failure.contains(source), "\(failure)")
        #expect(!failure.contains("cannot start bad:"), "\(failure)")
        let info = try s.ok(["info", "bad"])
        #expect(info.contains("Status: STOPPED"))
        #expect(info.contains("Last start failed: ") && info.contains(source), "\(info)")
        #expect(try Self.statuses(s) == ["bad": "STOPPED", "ok1": "RUNNING", "ok2": "RUNNING"])
    }

    /// Bad input: a one-line error, nothing changed.
    @Test func badInput() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "c1"])
        let before = try s.dump()
        let r = try s.run(["autostart", "--parallel", "0"])
        #expect(r.status != 0 && r.stderr.hasPrefix("Error: --parallel must be 1 or more"), "\(r.stderr)")
        try s.fails(["config", "set", "c1", "boot.host_shutdown_timeout=-1"], "is out of range; expected an integer from 0 to 86400")
        try s.fails(["config", "set", "c1", "boot.autostart.delay=2s"], "for boot.autostart.delay: expected an integer from 0 to 86400")
        try s.fails(["config", "set", "c1", "boot.autostart.dealy=2"], "did you mean boot.autostart.delay?")
        try s.fails(["config", "set", "c1", "volatile.last_state.power=RUNNING"], "volatile.last_state.power is read-only")
        let extra = try s.run(["shutdown", "c1"])
        #expect(extra.status != 0 && extra.stderr.hasPrefix("Error: Unexpected argument 'c1'"), "\(extra.stderr)")
        #expect(try s.dump() == before)
    }

    /// The units of contrib/systemd pass `systemd-analyze verify` (run against the built binary), and
    /// `scripts/install --enable --units-only PREFIX` writes them with PREFIX/bin/sysbox and enables them.
    @Test func systemdUnit() throws {
        let s = try Sandbox()
        let prefix = s.root + "/prefix", units = s.root + "/units"
        try FileManager.default.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: prefix + "/bin/sysbox", withDestinationPath: s.binary)
        let systemctl = s.root + "/systemctl"
        try "#!/bin/sh\necho \"$@\" >> \(s.root)/systemctl.log\n".write(toFile: systemctl, atomically: true, encoding: .utf8)
        chmod(systemctl, 0o755)
        let install = try runProcess(
            "/bin/bash", ["\(repositoryRoot)/scripts/install", "--enable", "--units-only", prefix],
            env: ["SYSBOX_UNIT_DIR": units, "SYSBOX_SYSTEMCTL": systemctl])
        #expect(install.status == 0, "\(install.stderr)")
        #expect(install.stdout.contains("Installed and enabled \(units)/sysbox.service"))
        #expect(try String(contentsOfFile: s.root + "/systemctl.log", encoding: .utf8) == "daemon-reload\nenable sysbox.service sysbox-schedule.timer\n")
        let unit = try String(contentsOfFile: units + "/sysbox.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=-\(prefix)/bin/sysbox autostart\n") && unit.contains("ExecStop=\(prefix)/bin/sysbox shutdown\n"))
        for line in ["Type=oneshot", "RemainAfterExit=yes", "KillMode=process", "WantedBy=multi-user.target"] { #expect(unit.contains(line + "\n"), "\(line)") }
        // systemd-analyze prints what it dislikes (an unknown key, a bad value, a missing binary) even
        // when it exits 0: its output must be empty.
        for file in ["sysbox.service", "sysbox-schedule.service", "sysbox-schedule.timer"] {
            let verify = try runProcess("/usr/bin/systemd-analyze", ["verify", "--man=no", units + "/" + file])
            #expect(verify.status == 0 && verify.stdout.isEmpty && verify.stderr.isEmpty, "\(file): \(verify.stdout)\(verify.stderr)")
        }
        #expect(try String(contentsOfFile: units + "/sysbox-schedule.service", encoding: .utf8).contains("ExecStart=\(prefix)/bin/sysbox schedule run\n"))
        // And it would see a broken unit.
        try unit.replacingOccurrences(of: "Type=oneshot", with: "Type=oneshoot").write(toFile: s.root + "/broken.service", atomically: true, encoding: .utf8)
        let broken = try runProcess("/usr/bin/systemd-analyze", ["verify", "--man=no", s.root + "/broken.service"])
        #expect(broken.stderr.contains("oneshoot"), "\(broken.stderr)")
        // Bad input of the script.
        let bad = try runProcess("/bin/bash", ["\(repositoryRoot)/scripts/install", "--units-only", prefix])
        #expect(bad.status != 0 && bad.stderr == "error: --units-only needs --enable (it installs only the systemd units)\n", "\(bad.stderr)")
        let relative = try runProcess("/bin/bash", ["\(repositoryRoot)/scripts/install", "--enable", "--units-only", "usr"])
        #expect(relative.status != 0 && relative.stderr.contains("PREFIX must be an absolute path"), "\(relative.stderr)")
        for odd in ["/opt/my sysbox", "/opt/a#b", "/opt/a&b"] {
            let r = try runProcess("/bin/bash", ["\(repositoryRoot)/scripts/install", "--enable", "--units-only", odd])
            #expect(r.status != 0 && r.stderr.contains("PREFIX may hold only letters, digits and / . _ + -"), "\(odd): \(r.stderr)")
        }
    }
}
