import Foundation
import GRDB
import Testing

/// The names in the first column of a `--format csv,noheader` listing.
func firstColumn(_ csv: String) -> [String] {
    csv.split(separator: "\n").map { String($0.split(separator: ",", omittingEmptySubsequences: false)[0]) }
}

extension Sandbox {
    /// The names of a container's snapshots, oldest first.
    func snapshotNames(_ name: String) throws -> [String] {
        firstColumn(try ok(["snapshot", "list", name, "--format", "csv,noheader"]))
    }

    /// A container's cgroup directory in every hierarchy (v1 and hybrid; pure v2: /sys/fs/cgroup).
    func cgroupDirectories(_ name: String) -> [String] {
        let hash = cgroupHash(stateDir)
        let hierarchies = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []).map { "/sys/fs/cgroup/\($0)" } + ["/sys/fs/cgroup"]
        return hierarchies.map { "\($0)/sysbox/\(hash)/\(name)" }
    }

    /// Whether a container's cgroup is frozen (v1 freezer or cgroup2 `cgroup.freeze`).
    func isFrozen(_ name: String) -> Bool {
        for dir in cgroupDirectories(name) {
            if let v = try? String(contentsOfFile: dir + "/freezer.state", encoding: .utf8), v.hasPrefix("FROZEN") || v.hasPrefix("FREEZING") { return true }
            if let v = try? String(contentsOfFile: dir + "/cgroup.freeze", encoding: .utf8), v.hasPrefix("1") { return true }
        }
        return false
    }

    /// Expects the container not frozen; thaws it if it is, so that the rest of the test (an exec, the
    /// cleanup) fails instead of hanging.
    func expectThawed(_ name: String, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let frozen = isFrozen(name)
        #expect(!frozen, "\(context): \(name) left frozen", sourceLocation: sourceLocation)
        guard frozen else { return }
        for dir in cgroupDirectories(name) {
            try? "THAWED".write(toFile: dir + "/freezer.state", atomically: false, encoding: .utf8)
            try? "0".write(toFile: dir + "/cgroup.freeze", atomically: false, encoding: .utf8)
        }
    }

    /// The database and the disk agree: a directory for each container record and none other, a
    /// directory for each snapshot record and none other, no operation left running.
    func expectDiskAgreesWithDatabase(_ context: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let names = firstColumn(try ok(["list", "--format", "csv,noheader"])).sorted()
        let dirs = ((try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/containers")) ?? []).sorted()
        #expect(names == dirs, "\(context): records \(names), directories \(dirs)", sourceLocation: sourceLocation)
        for name in names {
            let snapshots = try snapshotNames(name).sorted()
            let snapshotDirs = ((try? FileManager.default.contentsOfDirectory(atPath: stateDir + "/containers/\(name)/snapshots")) ?? []).sorted()
            #expect(snapshots == snapshotDirs, "\(context): \(name)'s snapshot records \(snapshots), directories \(snapshotDirs)", sourceLocation: sourceLocation)
        }
        let ops = try dump().split(separator: "\n").filter { $0.hasPrefix("operations") && $0.contains("status:\"running\"") }
        #expect(ops.isEmpty, "\(context): \(ops)", sourceLocation: sourceLocation)
    }
}

/// Snapshots of real containers (overlay driver here), with crashes injected at each step.
@Suite(.serialized) struct SnapshotTests {
    init() throws {
        try #require(getuid() == 0, "the snapshot tests boot real containers and must run as root")
    }

    func file(_ s: Sandbox, _ name: String) throws -> String {
        try s.ok(["exec", name, "--", "cat", "/root/f"])
    }

    @Test func snapshotRestoreRunningAndStopped() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "c1"])
        try s.ok(["exec", "c1", "--", "sh", "-c", "echo one > /root/f"])
        try s.ok(["config", "set", "c1", "user.v=1"])
        // Running: frozen while copied; named from snapshots.pattern.
        #expect(try s.ok(["snapshot", "create", "c1"]) == "Snapshot snap0 of c1 created\n")
        #expect(try s.ok(["exec", "c1", "--", "echo", "thawed"]) == "thawed\n")
        try s.ok(["exec", "c1", "--", "sh", "-c", "echo two > /root/f"])
        try s.ok(["config", "set", "c1", "user.v=2"])
        try s.ok(["profile", "create", "extra"])
        try s.ok(["profile", "add", "c1", "extra"])
        try s.fails(["snapshot", "restore", "c1", "snap0"], "container c1 is running; stop it first (sysbox stop c1) or restore with --force")
        try s.ok(["snapshot", "restore", "c1", "snap0", "--force"])
        #expect(try file(s, "c1") == "one\n")
        #expect(try s.ok(["config", "get", "c1", "user.v"]) == "1\n")
        #expect(try s.ok(["profile", "list", "--format", "csv,noheader"]).contains("extra,,0"))
        // Stopped: restore without force; the same UUID (identity stays).
        let uuid = try s.ok(["config", "get", "c1", "volatile.uuid"])
        try s.ok(["exec", "c1", "--", "sh", "-c", "echo three > /root/f"])
        try s.ok(["stop", "c1"])
        try s.ok(["snapshot", "restore", "c1", "snap0"])
        try s.ok(["start", "c1"])
        #expect(try file(s, "c1") == "one\n")
        #expect(try s.ok(["config", "get", "c1", "volatile.uuid"]) == uuid)
        // A snapshot of an unchanged overlay container holds almost nothing.
        try s.ok(["launch", "busybox", "c2"])
        try s.ok(["snapshot", "create", "c2", "empty"])
        let json = try s.ok(["snapshot", "list", "c2", "--format", "json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(entries.count == 1 && entries[0]["name"] as? String == "empty")
        #expect((entries[0]["size"] as? Int ?? Int.max) < 64 * 1024, "\(json)")
        // storage info: the driver, each container and each snapshot.
        let info = try s.ok(["storage", "info"])
        #expect(info.hasPrefix("Driver: overlay\n") && info.contains("  c2: ") && info.contains("    snapshot empty: "), "\(info)")
        let infoJSON = try #require(try JSONSerialization.jsonObject(with: Data(try s.ok(["storage", "info", "--format", "json"]).utf8)) as? [String: Any])
        #expect(infoJSON["driver"] as? String == "overlay" && (infoJSON["containers"] as? [[String: Any]])?.count == 2)
        // show, rename, reuse, expiry, delete; bad input.
        #expect(try s.ok(["snapshot", "show", "c1", "snap0"]).contains("user.v: \"1\""))
        try s.ok(["snapshot", "create", "c1", "nightly", "--expiry", "2d"])
        try s.fails(["snapshot", "create", "c1", "nightly"], "snapshot nightly of c1 already exists; pick another name or replace it with --reuse")
        try s.ok(["snapshot", "create", "c1", "nightly", "--reuse"])
        try s.fails(["snapshot", "create", "c1", "x", "--expiry", "soon"], "invalid expiry \"soon\"")
        try s.fails(["snapshot", "create", "c1", "../x"], "invalid snapshot name")
        try s.ok(["snapshot", "rename", "c1", "nightly", "kept"])
        try s.fails(["snapshot", "restore", "c1", "nightly"], "snapshot nightly of c1 not found")
        #expect(try s.ok(["snapshot", "list", "c1", "--format", "csv,noheader"]).split(separator: "\n").map { String($0.split(separator: ",")[0]) } == ["snap0", "kept"])
        try s.fails(["snapshot", "delete", "c1", "kept", "nosuch"], "snapshot nosuch of c1 not found")
        #expect(try s.ok(["snapshot", "list", "c1", "--format", "csv,noheader"]).contains("kept"))
        try s.ok(["snapshot", "delete", "c1", "kept"])
        // Snapshots follow a rename and go with the container.
        try s.ok(["stop", "c1"])
        try s.ok(["rename", "c1", "c9"])
        #expect(try s.ok(["snapshot", "list", "c9", "--format", "csv,noheader"]).hasPrefix("snap0,"))
        try s.ok(["snapshot", "restore", "c9", "snap0"])
        try s.ok(["delete", "--force", "c9", "c2"])
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/c9"))
        #expect(s.leftovers() == [])
    }

    /// kill -9 at each step of snapshot and restore: the next command leaves the database and the disk
    /// in agreement (the snapshot fully there or not at all; the restore finished or undone).
    @Test func crashesAtEveryStepAreRepaired() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "k1"])
        let data = s.stateDir + "/containers/k1/upper"
        try FileManager.default.createDirectory(atPath: data + "/root", withIntermediateDirectories: true)
        try "one\n".write(toFile: data + "/root/f", atomically: true, encoding: .utf8)
        for point in ["snapshot-copied", "snapshot-renamed"] {
            let r = try s.run(["snapshot", "create", "k1", "s-\(point)"], env: ["SYSBOX_TEST_CRASH_AT": point])
            #expect(r.status == 137, "\(point): \(r.stderr)")
            #expect(try s.ok(["snapshot", "list", "k1", "--format", "csv,noheader"]) == "", "\(point)")
            let left = try FileManager.default.contentsOfDirectory(atPath: s.stateDir + "/containers/k1/snapshots")
            #expect(left.isEmpty, "\(point): \(left)")
        }
        try s.ok(["snapshot", "create", "k1", "base"])
        try "two\n".write(toFile: data + "/root/f", atomically: true, encoding: .utf8)
        try s.ok(["config", "set", "k1", "user.v=2"])
        // Killed while copying: undone, the current files stay.
        #expect(try s.run(["snapshot", "restore", "k1", "base"], env: ["SYSBOX_TEST_CRASH_AT": "restore-copied"]).status == 137)
        try s.ok(["list"])
        #expect(try String(contentsOfFile: data + "/root/f", encoding: .utf8) == "two\n")
        #expect(try s.ok(["config", "get", "k1", "user.v"]) == "2\n")
        // Killed after the old files moved aside, or after the new ones moved in: finished.
        for point in ["restore-half-swapped", "restore-swapped"] {
            try "two\n".write(toFile: data + "/root/f", atomically: true, encoding: .utf8)
            try s.ok(["config", "set", "k1", "user.v=2"])
            #expect(try s.run(["snapshot", "restore", "k1", "base"], env: ["SYSBOX_TEST_CRASH_AT": point]).status == 137)
            try s.ok(["list"])
            #expect(try String(contentsOfFile: data + "/root/f", encoding: .utf8) == "one\n", "\(point)")
            #expect(try s.ok(["config", "get", "k1", "user.v"]) == "\n", "\(point)")
        }
        let dir = try FileManager.default.contentsOfDirectory(atPath: s.stateDir + "/containers/k1")
        #expect(!dir.contains { $0.contains(".restore-") }, "\(dir)")
        let ops = try s.dump().split(separator: "\n").filter { $0.hasPrefix("operations") && $0.contains("status:\"running\"") }
        #expect(ops.isEmpty, "\(ops)")
        try s.ok(["start", "k1"])
        #expect(try s.ok(["exec", "k1", "--", "cat", "/root/f"]) == "one\n")
        try s.ok(["delete", "--force", "k1"])
        #expect(s.leftovers() == [])
    }
}

@Suite(.serialized) struct CopyTests {
    init() throws {
        try #require(getuid() == 0, "the copy tests boot real containers and must run as root")
    }

    @Test func copiesAreIndependentWithAFreshIdentity() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "src"])
        try s.ok(["exec", "src", "--", "sh", "-c", "echo one > /root/f"])
        try s.ok(["config", "set", "src", "user.role=web"])
        try s.ok(["snapshot", "create", "src", "s0"])
        try s.ok(["exec", "src", "--", "sh", "-c", "echo two > /root/f"])
        // From the running source (frozen while copied), with its snapshots.
        #expect(try s.ok(["copy", "src", "dst", "-c", "limits.memory=128MiB"]) == "Container src copied to dst\n")
        #expect(try s.ok(["exec", "src", "--", "echo", "thawed"]) == "thawed\n")
        #expect(try s.ok(["list", "dst", "--format", "csv,noheader"]).hasPrefix("dst,STOPPED,"))
        #expect(try s.ok(["config", "get", "dst", "user.role"]) == "web\n")
        #expect(try s.ok(["config", "get", "dst", "limits.memory"]) == "128MiB\n")
        #expect(try s.ok(["config", "get", "dst", "volatile.uuid"]) != (try s.ok(["config", "get", "src", "volatile.uuid"])))
        #expect(try s.ok(["snapshot", "list", "dst", "--format", "csv,noheader"]).hasPrefix("s0,"))
        try s.ok(["start", "dst"])
        #expect(try s.ok(["exec", "dst", "--", "cat", "/root/f"]) == "two\n")
        // Independent: a change in the copy does not reach the source, nor the other way.
        try s.ok(["exec", "dst", "--", "sh", "-c", "echo mine > /root/f"])
        #expect(try s.ok(["exec", "src", "--", "cat", "/root/f"]) == "two\n")
        try s.ok(["snapshot", "restore", "dst", "s0", "--force"])
        #expect(try s.ok(["exec", "dst", "--", "cat", "/root/f"]) == "one\n")
        #expect(try s.ok(["exec", "src", "--", "cat", "/root/f"]) == "two\n")
        // From a snapshot, without snapshots.
        try s.ok(["copy", "src/s0", "old", "--instance-only"])
        try s.ok(["start", "old"])
        #expect(try s.ok(["exec", "old", "--", "cat", "/root/f"]) == "one\n")
        #expect(try s.ok(["snapshot", "list", "old", "--format", "csv,noheader"]) == "")
        // Bad input changes nothing.
        let before = try s.dump()
        try s.fails(["copy", "src", "dst"], "container dst already exists")
        try s.fails(["copy", "src/nosuch", "x1"], "snapshot nosuch of src not found")
        try s.fails(["copy", "nosuch", "x1"], "container nosuch not found")
        try s.fails(["copy", "src", "src"], "the copy needs another name than src")
        try s.fails(["copy", "src", "x1", "-p", "nosuch"], "profile nosuch not found")
        #expect(try s.dump() == before)
        // Killed half-way: the next command removes the half copy.
        #expect(try s.run(["copy", "src", "half"], env: ["SYSBOX_TEST_CRASH_AT": "copy-copied"]).status == 137)
        #expect(try s.ok(["list", "--format", "csv,noheader"]).split(separator: "\n").map { String($0.split(separator: ",")[0]) } == ["dst", "old", "src"])
        #expect(!FileManager.default.fileExists(atPath: s.stateDir + "/containers/half"))
        try s.ok(["delete", "--force", "src", "dst", "old"])
        #expect(s.leftovers() == [])
    }

    /// kill -9 at each step of a copy from a running source with snapshots: the next command (list,
    /// delete, or the retried copy itself) leaves the database and the disk in agreement, the half copy
    /// gone (or, killed after its last step, the whole copy kept), and the source thawed.
    @Test func crashesAtEveryCopyStepAreRepaired() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "src"])
        try s.ok(["exec", "src", "--", "sh", "-c", "echo one > /root/f"])
        try s.ok(["snapshot", "create", "src", "s0"])
        try s.ok(["snapshot", "create", "src", "s1"])
        let steps: [(point: String, next: [String])] = [
            ("copy-journalled", ["copy", "src", "dst"]),
            ("copy-frozen", ["list"]),
            ("copy-copied", ["delete", "dst"]),
            ("copy-snapshot-copied", ["list"]),
            ("copy-files-done", ["copy", "src", "dst"]),
            ("copy-finished", ["list"]),
        ]
        for (point, next) in steps {
            let r = try s.run(["copy", "src", "dst"], env: ["SYSBOX_TEST_CRASH_AT": point])
            #expect(r.status == 137, "\(point): \(r.stderr)")
            if point == "copy-frozen" { #expect(s.isFrozen("src"), "\(point)") }
            let kept = point == "copy-finished"
            if next.first == "delete" {
                try s.fails(next, "container dst not found")
            } else {
                try s.ok(next)
            }
            s.expectThawed("src", point)
            #expect(try s.ok(["exec", "src", "--", "echo", "thawed"]) == "thawed\n", "\(point)")
            try s.expectDiskAgreesWithDatabase(point)
            let names = firstColumn(try s.ok(["list", "--format", "csv,noheader"]))
            #expect(names == (kept || next.first == "copy" ? ["dst", "src"] : ["src"]), "\(point): \(names)")
            // The retried copy finishes (or the whole copy was kept): files and snapshots all there.
            if !names.contains("dst") { try s.ok(["copy", "src", "dst"]) }
            try s.fails(["copy", "src", "dst"], "container dst already exists")
            #expect(try s.snapshotNames("dst") == ["s0", "s1"], "\(point)")
            #expect(try String(contentsOfFile: s.stateDir + "/containers/dst/upper/root/f", encoding: .utf8) == "one\n", "\(point)")
            try s.expectDiskAgreesWithDatabase(point + " then copied")
            try s.ok(["delete", "dst"])
        }
        try s.ok(["delete", "--force", "src"])
        #expect(s.leftovers() == [])
    }
}

@Suite struct ScheduleTests {
    @Test func scheduledSnapshotsAndRetention() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "c1"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=@hourly", "snapshots.keep.last=2"])
        let f = ISO8601DateFormatter()
        // The first full hour after now, then the next ones.
        let base = (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600 + 3600
        func at(_ hours: Double) -> String { f.string(from: Date(timeIntervalSince1970: base + hours * 3600 + 30)) }
        #expect(try s.ok(["schedule", "run", "--at", at(0)]) == "snapshot snap0 of c1 created\n")
        #expect(try s.ok(["schedule", "run", "--at", at(0)]) == "")
        try s.ok(["snapshot", "create", "c1", "manual"])
        try s.ok(["snapshot", "create", "c1", "brief", "--expiry", "1H"])
        // --at moves the schedule's clock, not expiry's: the one with a 1-hour expiry stays.
        #expect(try s.ok(["schedule", "run", "--at", at(1)]) == "snapshot snap1 of c1 created\n")
        // The third scheduled one pushes the oldest scheduled one out; the ones taken by hand stay.
        #expect(try s.ok(["schedule", "run", "--at", at(2)]) == "snapshot snap2 of c1 created\nsnapshot c1/snap0 deleted (retention)\n")
        // An expired snapshot goes at the next prune (0d: expired at once).
        try s.ok(["snapshot", "create", "c1", "gone", "--expiry", "0d"])
        #expect(try s.ok(["snapshot", "prune", "c1"]) == "Snapshot c1/gone deleted\n")
        #expect(try s.ok(["snapshot", "list", "c1", "--format", "csv,noheader"]).split(separator: "\n").map { String($0.split(separator: ",")[0]) }.sorted()
                == ["brief", "manual", "snap1", "snap2"])
        #expect(try s.ok(["snapshot", "show", "c1", "snap1"]).contains("name: snap1"))
        try s.fails(["schedule", "run", "--at", "tomorrow"], "--at expects an ISO 8601 time")
        try s.fails(["config", "set", "c1", "snapshots.keep.last=0"], "snapshots.keep.last")
        #expect(try s.ok(["snapshot", "prune", "c1"]) == "")
        try s.ok(["delete", "c1"])
    }
}
