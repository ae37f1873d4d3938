import Foundation
import Testing

/// Issue 14's lifecycle findings through the binary: a launch whose start fails leaves nothing,
/// `wait --timeout -1`, `exec` without `--`, `restart` of a stopped container, and the note that
/// profile and `config edit` changes a running container gets only at its next start.
@Suite(.serialized) struct LifecycleTests {
    init() throws {
        try #require(getuid() == 0, "the lifecycle tests boot real containers and must run as root")
    }

    /// A refused launch changes nothing: the container its start could not run is removed again, and
    /// the error's one line says so (issue 14: a stopped container was left behind).
    @Test func failedLaunchLeavesNothing() throws {
        let s = try Sandbox.withoutNIC()
        // The image is built on first use (shared, kept): built here first.
        try s.ok(["create", "busybox", "warm"])
        try s.ok(["delete", "warm"])
        // A disk whose source is gone by the time of the start (create accepts it: the profile's device
        // was checked when it was added).
        let source = s.root + "/src"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try s.ok(["profile", "create", "gone"])
        try s.ok(["profile", "device", "add", "gone", "data", "disk", "source=\(source)", "path=/mnt"])
        try FileManager.default.removeItem(atPath: source)
        let before = try s.dump()
        let r = try s.run(["launch", "busybox", "x1", "-p", "default", "-p", "gone"])
        #expect(r.status != 0)
        #expect(r.stderr.hasPrefix("Error: cannot start x1: device data: source \(source) does not exist"), "\(r.stderr)")
        #expect(r.stderr.hasSuffix("; x1 is removed again (a launch that cannot start leaves nothing behind)\n") && r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "")
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/x1"))
        // Every row as before, but the journal's history (the create and the delete that undid it, both
        // done) and the image's last use (the launch used it).
        func state(_ dump: String) -> [String] {
            dump.split(separator: "\n").filter { !$0.hasPrefix("operations ") }.map { line in
                // last_used_at is an image row's last column.
                guard line.hasPrefix("images "), let cut = line.range(of: " last_used_at:") else { return String(line) }
                return String(line[..<cut.lowerBound])
            }
        }
        #expect(state(try s.dump()) == state(before))
        #expect(try s.dump().contains("action:\"delete\" entity_type:\"container\" entity_name:\"x1\" status:\"done\""))
        #expect(s.leftovers() == [])
        // create, then start, keeps the container (the way to keep it on purpose).
        try s.ok(["create", "busybox", "x2", "-p", "default", "-p", "gone"])
        try s.fails(["start", "x2"], "cannot start x2: device data: source \(source) does not exist")
        #expect(try s.ok(["list", "--format", "csv,noheader"]) == "x2,STOPPED,,busybox,0\n")
        try s.ok(["delete", "x2"])
    }

    /// `wait --timeout -1` waits without a limit (as LXD); `exec NAME CMD ARGS` without `--` when no
    /// word looks like an option; `restart` of a stopped container is refused (as LXD).
    @Test func waitExecRestart() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "t1"])
        #expect(try s.ok(["wait", "t1", "--timeout", "-1"]) == "running\n")
        for bad in ["-2", "0"] {
            let r = try s.run(["wait", "t1", "--timeout", bad])
            #expect(r.status == 64 && r.stderr.hasPrefix("Error: --timeout must be a positive number of seconds, or -1 to wait forever\n"), "\(r.stderr)")
        }
        #expect(try s.ok(["exec", "t1", "cat", "/etc/hostname"]) == "t1\n")
        #expect(try s.ok(["exec", "t1", "ls", "/"]).contains("etc\n"))
        #expect(try s.ok(["exec", "t1", "--", "ls", "-d", "/etc"]) == "/etc\n")
        let opt = try s.run(["exec", "t1", "ls", "-d", "/etc"])
        #expect(opt.status == 64)
        #expect(
            opt.stderr == "Error: Unknown option '-d' of exec; give the command after -- when it has options (sysbox exec t1 -- ls -l)\n", "\(opt.stderr)")
        let none = try s.run(["exec", "t1"])
        #expect(none.status == 64 && none.stderr.hasPrefix("Error: give the command, after -- when it has options: sysbox exec t1 -- COMMAND"), "\(none.stderr)")
        try s.ok(["stop", "--force", "t1"])
        try s.fails(["restart", "t1"], "container t1 is not running; start it with: sysbox start t1")
        try s.ok(["start", "t1"])
        try s.ok(["create", "busybox", "t2"])
        // Every name is checked first: the running one is not restarted either.
        let pid = try s.ok(["list", "t1", "--format", "json"])
        try s.fails(["restart", "t1", "t2"], "container t2 is not running; start it with: sysbox start t2")
        #expect(try s.ok(["list", "t1", "--format", "json"]) == pid)
        try s.ok(["restart", "t1", "--force"])
        try s.ok(["delete", "--force", "t1", "t2"])
        #expect(s.leftovers() == [])
    }

    /// `profile add`/`assign`/`edit` and `config edit` that change what a running container gets only at
    /// its next start (devices, security keys) say so, as `config device add` does (issue 14); live
    /// changes and stopped containers get no note.
    @Test func pendingChangesAreNoted() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "c1"])
        try s.ok(["create", "busybox", "c2"])
        try s.ok(["profile", "create", "disks"])
        try s.ok(["profile", "device", "add", "disks", "data", "disk", "source=\(s.root)", "path=/mnt"])
        let note = "Note: devices are set up at start: c1 gets this change at the next start (sysbox restart c1)\n"
        let added = try s.run(["profile", "add", "c1", "disks"])
        #expect(added.status == 0 && added.stdout == "Profile disks added to c1\n" && added.stderr == note, "\(added.stderr)")
        let stopped = try s.run(["profile", "add", "c2", "disks"])
        #expect(stopped.status == 0 && stopped.stderr == "", "\(stopped.stderr)")
        // A live key only: applied now, no note.
        try s.ok(["profile", "create", "mem"], stdin: "config:\n  limits.memory: 256MiB\n")
        let live = try s.run(["profile", "add", "c1", "mem"])
        #expect(live.status == 0 && live.stderr == "", "\(live.stderr)")
        let assigned = try s.run(["profile", "assign", "c1", "default,mem"])
        #expect(assigned.status == 0 && assigned.stderr == note, "\(assigned.stderr)")
        let edited = try s.run(["profile", "edit", "mem"], stdin: "config:\n  limits.memory: 128MiB\n  security.syscalls.deny: bpf\n")
        #expect(
            edited.status == 0 && edited.stderr == "Note: security.syscalls.deny is set up at start: c1 gets this change at the next start (sysbox restart c1)\n",
            "\(edited.stderr)")
        let liveEdit = try s.run(["profile", "edit", "mem"], stdin: "config:\n  limits.memory: 200MiB\n  security.syscalls.deny: bpf\n")
        #expect(liveEdit.status == 0 && liveEdit.stderr == "", "\(liveEdit.stderr)")
        let configEdit = try s.run(
            ["config", "edit", "c1"], stdin: "devices:\n  data:\n    type: disk\n    source: \(s.root)\n    path: /srv\n")
        #expect(configEdit.status == 0 && configEdit.stderr == note, "\(configEdit.stderr)")
        try s.ok(["delete", "--force", "c1", "c2"])
        #expect(s.leftovers() == [])
    }

    /// `pause`/`resume` (LXD's): the freezer stops every process (status FROZEN, a counter stands
    /// still), exec is refused, a snapshot leaves it frozen, `start` resumes, `stop` thaws then stops.
    @Test func pauseAndResume() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "p1"])
        try s.ok(["create", "busybox", "p2"])
        let counter = try s.start(["exec", "p1", "--", "sh", "-c", "i=0; while true; i=$((i+1)); do echo $i > /root/n; sleep 0.05; done"])
        defer { _ = try? counter.wait() }
        try waitUntil { (try? s.ok(["file", "pull", "p1/root/n", "-"])) != nil }
        try s.ok(["pause", "p1"])
        #expect(try s.ok(["list", "-c", "ns", "--format", "csv,noheader"]) == "p1,FROZEN\np2,STOPPED\n")
        #expect(try s.ok(["list", "status=frozen", "--format", "csv,noheader", "-c", "n"]) == "p1\n")
        #expect(try s.ok(["info", "p1"]).contains("Status: FROZEN"))
        let freezer = "/sys/fs/cgroup/freezer/sysbox/\(cgroupHash(s.stateDir))/p1/freezer.state"
        #expect(try String(contentsOfFile: freezer, encoding: .utf8) == "FROZEN\n")
        let before = try s.ok(["file", "pull", "p1/root/n", "-"])
        usleep(400_000)
        #expect(try s.ok(["file", "pull", "p1/root/n", "-"]) == before)
        try s.fails(["exec", "p1", "--", "true"], "container p1 is paused (its processes are frozen); resume it first: sysbox resume p1")
        try s.fails(["pause", "p1"], "container p1 is paused already; resume it with: sysbox resume p1")
        try s.fails(["pause", "p2"], "container p2 is not running; only a running container can be paused")
        try s.fails(["resume", "p2"], "container p2 is not paused")
        // A snapshot (which freezes and thaws a running container) leaves a paused one frozen.
        try s.ok(["snapshot", "create", "p1", "s1"])
        #expect(try String(contentsOfFile: freezer, encoding: .utf8) == "FROZEN\n")
        try s.ok(["resume", "p1"])
        #expect(try String(contentsOfFile: freezer, encoding: .utf8) == "THAWED\n")
        try waitUntil { (try? s.ok(["file", "pull", "p1/root/n", "-"])) != before }
        try s.fails(["resume", "p1"], "container p1 is not paused")
        #expect(try s.ok(["exec", "p1", "--", "echo", "ok"]) == "ok\n")
        // start resumes (as LXD's); stop --all includes a paused container and thaws it first.
        try s.ok(["pause", "p1"])
        try s.ok(["start", "p1"])
        #expect(try s.ok(["list", "p1", "-c", "s", "--format", "csv,noheader"]) == "RUNNING\n")
        try s.ok(["pause", "p1"])
        try s.ok(["stop", "--all", "--timeout", "10"])
        #expect(try s.ok(["list", "p1", "-c", "s", "--format", "csv,noheader"]) == "STOPPED\n")
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/p1/paused"))
        try s.ok(["delete", "--force", "p1", "p2"])
        #expect(s.leftovers() == [])
    }

    /// `info --show-log` (LXD's): the runtime log (what the monitors wrote) after the details; empty
    /// before any start, the monitor's own lines after a start with SYSBOX_LOG=debug.
    @Test func infoShowsTheRuntimeLog() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "l1"])
        #expect(try s.ok(["info", "l1", "--show-log"]).hasSuffix("\nLog:\n\n(empty)\n"))
        #expect(try !s.ok(["info", "l1"]).contains("Log:"))
        try s.ok(["start", "l1"], env: ["SYSBOX_LOG": "debug"])
        let shown = try s.ok(["info", "l1", "--show-log"])
        #expect(shown.contains("Status: RUNNING") && shown.contains("\nLog:\n\n") && shown.contains("init running"), "\(shown)")
        try s.fails(["info", "nope", "--show-log"], "container nope not found")
        try s.ok(["delete", "--force", "l1"])
        #expect(s.leftovers() == [])
    }
}
