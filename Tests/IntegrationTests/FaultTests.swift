import Foundation
import GRDB
import Testing

@Suite struct BadInputTests {
    /// Every refusal: non-zero exit, one line naming the thing, and no change to the database.
    @Test func refusalsChangeNothing() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        try s.ok(["profile", "create", "p1"], stdin: "config:\n  limits.cpu: 1\n")
        let unknownTop = try s.write("top.yaml", "description: x\nconfg:\n  limits.cpu: 1\n")
        let unknownKey = try s.write("key.yaml", "config:\n  limits.cpu: 1\n  limits.memroy: 1GiB\n")
        let wrongType = try s.write("type.yaml", "config:\n  - limits.cpu\n")
        let duplicate = try s.write("dup.yaml", "config:\n  limits.cpu: 1\n  limits.cpu: 2\n")
        let badDevice = try s.write("dev.yaml", "devices:\n  eth0:\n    type: nick\n    network: n\n")
        let syntax = try s.write("syntax.yaml", "config:\n  limits.cpu: [1\n")
        let before = try s.dump()
        let cases: [([String], String, String?)] = [
            (["profile", "create", "p2", "--file", unknownTop], "\(unknownTop):2: unknown top-level key confg; did you mean config?", nil),
            (["profile", "create", "p2", "--file", unknownKey], "\(unknownKey):3: unknown config key limits.memroy; did you mean limits.memory?", nil),
            (["profile", "create", "p2", "--file", wrongType], "\(wrongType):2: config must be a mapping", nil),
            (["profile", "create", "p2", "--file", duplicate], "\(duplicate):3: duplicate key limits.cpu (first at line 2)", nil),
            (["profile", "create", "p2", "--file", badDevice], "\(badDevice):3: device eth0 has unknown type \"nick\"; did you mean nic?", nil),
            (["profile", "create", "p2", "--file", syntax], "\(syntax):3: YAML syntax error", nil),
            (["profile", "create", "p2", "--file", s.root + "/missing.yaml"], "cannot read \(s.root)/missing.yaml", nil),
            (["profile", "create", "p2"], "<stdin>:1: unknown top-level key bogus", "bogus: 1\n"),
            (["profile", "edit", "p1"], "<stdin>:2: invalid value \"many\" for limits.cpu", "config:\n  limits.cpu: many\n"),
            (["profile", "create", "p1"], "profile p1 already exists", ""),
            (["profile", "create", "bad/name"], "invalid profile name \"bad/name\"", nil),
            (["profile", "create", ".."], "invalid profile name \"..\"", nil),
            (["profile", "show", "nope"], "profile nope not found", nil),
            (["profile", "show", "p2"], "profile p2 not found; did you mean p1?", nil),
            (["profile", "set", "p1", "limits.memroy=1GiB"], "unknown config key limits.memroy; did you mean limits.memory?", nil),
            (["profile", "set", "p1", "limits.memory=lots"], "invalid value \"lots\" for limits.memory", nil),
            (["profile", "set", "p1", "novalue"], "expected KEY=VALUE, got \"novalue\"", nil),
            (["profile", "unset", "p1", "limits.memory"], "limits.memory is not set on profile p1", nil),
            (["profile", "copy", "p1", "default"], "profile default already exists", nil),
            (["profile", "rename", "p1", "default"], "profile default already exists", nil),
            (["profile", "add", "c1", "default"], "container c1 already has profile default", nil),
            (["profile", "remove", "c1", "p1"], "container c1 does not have profile p1", nil),
            (["profile", "assign", "c1", "p1"], "no root disk", nil),
            (["profile", "device", "add", "p1", "r", "disk", "path=/", "source=/x"], "root disk (path /) takes no source", nil),
            (["create", "busybox", "c1"], "container c1 already exists", nil),
            (["create", "busybox", "Bad_Name"], "invalid container name \"Bad_Name\": character '_' at position 4", nil),
            (["create", "busybox", "bad name"], "invalid container name \"bad name\": character ' ' (space)", nil),
            (["create", "busybox", "../etc"], "invalid container name \"../etc\"", nil),
            (["create", "busybox", String(repeating: "a", count: 64)], "at most 63 are allowed", nil),
            (["create", "busybox", "c2", "-p", "nope"], "profile nope not found", nil),
            (["create", "busybox", "c2", "-c", "limits.cpu=zero"], "invalid value \"zero\" for limits.cpu", nil),
            (["create", "busybox", "c2", "-c", "volatile.uuid=x"], "volatile.uuid is read-only", nil),
            (["create", "busybox", "c2", "--no-profiles"], "no root disk", nil),
            (["create", "../../etc/passwd", "c2"], "invalid image name", nil),
            (["config", "show", "nope"], "container nope not found", nil),
            (["config", "show", "c2"], "container c2 not found; did you mean c1?", nil),
            (["config", "set", "c1", "limits.memroy=1GiB"], "did you mean limits.memory?", nil),
            (["config", "set", "c1", "limits.memory=2GiB", "limits.cpu=-1"], "invalid value \"-1\" for limits.cpu", nil),
            (["config", "set", "c1", "volatile.uuid=x"], "volatile.uuid is read-only", nil),
            (["config", "set", "c1"], "nothing to set", nil),
            (["config", "unset", "c1", "limits.cpu"], "limits.cpu is not set on container c1", nil),
            (["config", "unset", "c1", "volatile.uuid"], "volatile.uuid is read-only", nil),
            (["config", "get", "c1", "limits.cpus"], "unknown config key limits.cpus; did you mean limits.cpu?", nil),
            (["config", "device", "add", "c1", "eth1", "nick", "network=x"], "unknown type \"nick\"; did you mean nic?", nil),
            (["config", "device", "add", "c1", "eth1", "nic"], "device eth1 (nic) needs network", nil),
            (["config", "device", "add", "c1", "eth1", "nic", "network=x", "netwrok=y"], "did you mean network?", nil),
            (["config", "device", "add", "c1", "r2", "disk", "path=/"], "both root disks", nil),
            (["config", "device", "add", "c1", "d", "disk", "path=/d", "source=relative"], "expected an absolute path", nil),
            (["config", "device", "remove", "c1", "root"], "device root of container c1 comes from profile default", nil),
            (["config", "device", "set", "c1", "nope", "a=b"], "device nope not found on container c1", nil),
            (["delete", "nope"], "container nope not found", nil),
            (["delete", "c1", "nope"], "container nope not found", nil),
            (["info", "nope"], "container nope not found", nil),
            (["list", "--format", "xml"], "unknown format \"xml\"", nil),
            (["list", "limits.memroy=1"], "unknown filter key limits.memroy", nil)
        ]
        for (args, text, stdin) in cases {
            try s.fails(args, text, stdin: stdin)
        }
        #expect(try s.dump() == before)
    }

    @Test func deleteChecksEveryNameFirst() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        try s.fails(["delete", "c1", "nope"], "container nope not found")
        #expect(try s.ok(["list", "--format", "csv,noheader"]).hasPrefix("c1,"))
    }

    @Test func usageErrorsExitNonZero() throws {
        let s = try Sandbox()
        let r = try s.run(["create"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("Missing expected argument"))
        #expect(try s.run(["frobnicate"]).status != 0)
    }
}

@Suite struct DatabaseFaultTests {
    @Test func corruptDatabaseIsNamedAndLeftAlone() throws {
        let s = try Sandbox()
        try FileManager.default.createDirectory(atPath: s.stateDir, withIntermediateDirectories: true)
        let garbage = Data((0..<8192).map { UInt8($0 % 251) })
        _ = FileManager.default.createFile(atPath: s.dbPath, contents: garbage)
        try s.fails(["list"], "database \(s.dbPath) is damaged")
        try s.fails(["create", "busybox", "c1"], "database \(s.dbPath) is damaged")
        #expect(FileManager.default.contents(atPath: s.dbPath) == garbage)
    }

    @Test func lockedDatabaseTimesOut() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        let before = try s.dump()
        let holder = try DatabaseQueue(path: s.dbPath)
        try holder.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            try s.fails(
                ["create", "busybox", "c2"], "database \(s.dbPath) is locked by another process (waited 0.5 s)",
                env: ["SYSBOX_DB_TIMEOUT": "0.5"])
            try db.execute(sql: "ROLLBACK")
        }
        try holder.close()
        #expect(try s.dump() == before)
        try s.ok(["create", "busybox", "c2"])
    }

    @Test func unusableStateDirectory() throws {
        let s = try Sandbox()
        _ = FileManager.default.createFile(atPath: s.stateDir, contents: Data("not a dir".utf8))
        try s.fails(["list"], "state directory \(s.stateDir) cannot be used: it is not a directory")
        try FileManager.default.removeItem(atPath: s.stateDir)
        try FileManager.default.createDirectory(atPath: s.dbPath, withIntermediateDirectories: true)
        try s.fails(["list"], "database \(s.dbPath) cannot be used: it is a directory")
        try s.fails(["list"], "SYSBOX_DIR is set but empty", env: ["SYSBOX_DIR": ""])
        try s.fails(["list"], "SYSBOX_DB_TIMEOUT must be a number", env: ["SYSBOX_DB_TIMEOUT": "soon"])
    }

    @Test func newerDatabaseIsRefused() throws {
        let s = try Sandbox()
        try s.ok(["list"])
        let queue = try DatabaseQueue(path: s.dbPath)
        try queue.write { db in try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-the-future')") }
        try queue.close()
        try s.fails(["list"], "was written by a newer sysbox (unknown schema versions: v9-from-the-future)")
    }

    /// Many processes writing at once, starting on an empty state directory (so they also race to create
    /// the schema): every one succeeds.
    @Test func concurrentWritersAllSucceed() throws {
        let s = try Sandbox()
        let count = 16
        // All started before any is waited for, so they really run at once.
        let writers = try (0..<count).map { i in
            try s.start(
                i % 4 == 3 ? ["profile", "create", "p\(i)"] : ["create", "busybox", "c\(i)", "-c", "user.n=\(i)"],
                env: ["SYSBOX_DB_TIMEOUT": "30"])
        }
        let results = try writers.map { try $0.wait() }
        #expect(results.map(\.status) == Array(repeating: 0, count: count), "\(results.map(\.stderr))")
        let names = try s.ok(["list", "--format", "csv,noheader"]).split(separator: "\n")
        #expect(names.count == count - count / 4)
        // Then writers to the same container at once: each key set by one process, all present afterwards.
        let keys = 8
        let setters = try (0..<keys).map { i in
            try s.start(["config", "set", "c0", "user.k\(i)=\(i)"], env: ["SYSBOX_DB_TIMEOUT": "30"])
        }
        let statuses = try setters.map { try $0.wait() }
        #expect(statuses.map(\.status) == Array(repeating: 0, count: keys), "\(statuses.map(\.stderr))")
        let show = try s.ok(["config", "show", "c0"])
        for i in 0..<keys { #expect(show.contains("user.k\(i): \"\(i)\"")) }
    }

    @Test func twoStateDirectoriesNeverInterfere() throws {
        let a = try Sandbox(), b = try Sandbox()
        try a.ok(["create", "busybox", "same"])
        try b.ok(["image", "build", "busybox"])
        #expect(try b.ok(["image", "alias", "create", "bb", "busybox"]).hasPrefix("Alias bb created for image "))
        // An alias that exists is refused (as in LXD), not silently moved (issue 14).
        try b.fails(["image", "alias", "create", "bb", "busybox"], "image alias bb already exists")
        try b.ok(["create", "bb", "same"])
        try a.ok(["profile", "delete", "small"])
        #expect(try a.ok(["list", "--format", "csv,noheader"]) == "same,STOPPED,,busybox,0\n")
        #expect(try b.ok(["list", "--format", "csv,noheader"]) == "same,STOPPED,,bb,0\n")
        #expect(try b.ok(["profile", "show", "small"]).contains("limits.memory"))
    }
}

@Suite struct InstallLayoutTests {
    /// An installed sysbox (PREFIX/bin/sysbox and PREFIX/libexec/sysbox/sysbox-manager, as
    /// scripts/install lays them out) finds PREFIX/share/sysbox/Profiles; a lone pair of binaries says
    /// how to point it at them.
    @Test func installedBinaryFindsItsProfiles() throws {
        let s = try Sandbox()
        let prefix = s.root + "/prefix"
        let fm = FileManager.default
        let manager = URL(fileURLWithPath: s.binary).deletingLastPathComponent().appendingPathComponent("sysbox-manager").path
        try fm.createDirectory(atPath: prefix + "/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: prefix + "/share/sysbox", withIntermediateDirectories: true)
        try fm.copyItem(atPath: s.binary, toPath: prefix + "/bin/sysbox")
        try fm.createDirectory(atPath: prefix + "/libexec/sysbox", withIntermediateDirectories: true)
        try fm.copyItem(atPath: manager, toPath: prefix + "/libexec/sysbox/sysbox-manager")
        try fm.copyItem(atPath: repositoryRoot + "/Profiles", toPath: prefix + "/share/sysbox/Profiles")
        _ = fm.createFile(atPath: prefix + "/share/sysbox/Profiles/extra.yaml", contents: Data("description: installed\n".utf8))
        let r = try s.run(["profile", "show", "extra"], binary: prefix + "/bin/sysbox", cwd: "/")
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("description: installed"))

        let lone = try Sandbox()
        try fm.createDirectory(atPath: lone.root + "/bin", withIntermediateDirectories: true)
        try fm.copyItem(atPath: s.binary, toPath: lone.root + "/bin/sysbox")
        try fm.copyItem(atPath: manager, toPath: lone.root + "/bin/sysbox-manager")
        let failed = try lone.run(["list"], binary: lone.root + "/bin/sysbox", cwd: "/")
        #expect(failed.status != 0)
        #expect(failed.stderr.contains("set SYSBOX_DATA_DIR"))
        #expect(try lone.run(["list"], env: ["SYSBOX_DATA_DIR": repositoryRoot], binary: lone.root + "/bin/sysbox", cwd: "/").status == 0)
    }
}
