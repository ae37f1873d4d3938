import Foundation
import GRDB
import Testing

/// What one run of the `sysbox` binary did.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String

    var ok: Bool { status == 0 }
}

/// The repository root (this file is Tests/IntegrationTests/Harness.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// The built `sysbox` binary: `$SYSBOX_BIN`, else the one next to the test runner (`swift build`
/// puts both in the same directory). A missing binary is a failure, never a skip.
func sysboxBinary() throws -> String {
    if let path = ProcessInfo.processInfo.environment["SYSBOX_BIN"], !path.isEmpty { return path }
    let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    let path = URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("sysbox").path
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw HarnessError("the sysbox binary is not at \(path); run `swift build` before `swift test`, or set SYSBOX_BIN")
    }
    return path
}

/// The lxcfs of this test process: every container the tests start binds lxcfs's files, and sysbox
/// starts its own lxcfs when none answers at its mount point. The tests give it one of their own
/// (`SYSBOX_LXCFS_DIR`, inherited by every sysbox they run) and end it when the test process exits
/// (its process, then its mount), so the suite leaves no host-wide lxcfs behind. LxcfsTests give
/// their sandboxes their own.
let testLxcfsDirectory: String = {
    let dir = NSTemporaryDirectory() + "sysbox-test-lxcfs-\(getpid())"
    setenv("SYSBOX_LXCFS_DIR", dir, 1)
    atexit(stopTestLxcfs)
    return dir
}()

/// Ends the test process's lxcfs (the pid its pid file names, if that process is lxcfs) and removes
/// its mount point.
private func stopTestLxcfs() {
    let dir = NSTemporaryDirectory() + "sysbox-test-lxcfs-\(getpid())"
    if let text = try? String(contentsOfFile: dir + ".pid", encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.hasPrefix("lxcfs") == true
    {
        kill(pid, SIGTERM)
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
    }
    umount2(dir, Int32(MNT_DETACH))
    rmdir(dir)
    for suffix in [".pid", ".log", ".lock"] { unlink(dir + suffix) }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A private state directory for one test, removed at the end (even when the test fails).
final class Sandbox {
    let root: String
    let stateDir: String
    let binary: String

    init() throws {
        _ = testLxcfsDirectory
        root = NSTemporaryDirectory() + "sysbox-it-\(UUID().uuidString.prefix(8))"
        stateDir = root + "/state"
        binary = try sysboxBinary()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    /// Deletes every container of this sandbox (force-stopping running ones) before removing its files,
    /// so a failed test leaves no process, mount or cgroup behind.
    deinit {
        if FileManager.default.fileExists(atPath: dbPath),
            let names = try? run(["list", "--format", "csv,noheader"]).stdout.split(separator: "\n").map({ String($0.split(separator: ",")[0]) }),
            !names.isEmpty
        {
            _ = try? run(["delete", "--force"] + names)
        }
        // Networks: unused first (the default profile's NIC), then deleted; what sysbox could not
        // remove is removed by hand below (bridges carrying this state directory in their alias).
        if FileManager.default.fileExists(atPath: dbPath),
            let networks = try? run(["network", "list", "--format", "csv,noheader"]).stdout.split(separator: "\n").map({ String($0.split(separator: ",")[0]) }),
            !networks.isEmpty
        {
            _ = try? run(["profile", "device", "remove", "default", "eth0"])
            for n in networks { _ = try? run(["network", "delete", n]) }
        }
        for leftover in networkLeftovers() {
            let name = String(leftover.split(separator: " ")[1])
            if leftover.hasPrefix("bridge ") { _ = try? runProcess("/usr/sbin/ip", ["link", "delete", name]) }
            if leftover.hasPrefix("nft ") { _ = try? runProcess("/usr/sbin/nft", ["delete", "table", "ip", name]) }
            if leftover.hasPrefix("rundir ") {
                if let pid = (try? String(contentsOfFile: name + "/monitor.pid", encoding: .utf8))?.split(separator: " ").first.flatMap({ Int32($0) }) { kill(pid, SIGKILL) }
                try? FileManager.default.removeItem(atPath: name)
            }
        }
        // Whatever is still running for this state directory (a monitor whose record vanished) is ended
        // too: a test never leaves a process behind, even when sysbox failed to clean up.
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let p = Int32(pid), p != getpid() else { continue }
            if readProc("/proc/\(pid)/environ").range(of: Data("SYSBOX_DIR=\(stateDir)\u{0}".utf8)) != nil { kill(p, SIGKILL) }
        }
        // And the cgroups such a process left (deepest first; a cgroup with processes stays).
        usleep(100_000)
        let hash = cgroupHash(stateDir)
        for h in ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []).map({ "/sys/fs/cgroup/\($0)" }) + ["/sys/fs/cgroup"] {
            let base = "\(h)/sysbox/\(hash)"
            guard let e = FileManager.default.enumerator(atPath: base) else { continue }
            // rmdir of a control file just fails; directories go deepest first.
            let entries = e.compactMap { $0 as? String }
            for d in entries.sorted(by: { $0.count > $1.count }) { rmdir(base + "/" + d) }
            rmdir(base)
        }
        try? FileManager.default.removeItem(atPath: root)
    }

    var dbPath: String { stateDir + "/sysbox.db" }

    /// A sandbox whose default profile has no NIC: for tests about something else than networking
    /// (the default network, sysboxbr0, is host-wide).
    static func withoutNIC() throws -> Sandbox {
        let s = try Sandbox()
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        return s
    }

    /// Runs `sysbox ARGS` with `SYSBOX_DIR` set to this sandbox; `stdin` nil means /dev/null.
    @discardableResult
    func run(
        _ args: [String], stdin: String? = nil, env: [String: String] = [:], binary: String? = nil,
        cwd: String? = nil
    ) throws -> RunResult {
        try start(args, stdin: stdin, env: env, binary: binary, cwd: cwd).wait()
    }

    /// Starts `sysbox ARGS` without waiting for it.
    func start(
        _ args: [String], stdin: String? = nil, env: [String: String] = [:], binary: String? = nil,
        cwd: String? = nil
    ) throws -> Running {
        try Running(binary ?? self.binary, args, stdin: stdin, env: ["SYSBOX_DIR": stateDir].merging(env) { _, new in new }, cwd: cwd)
    }

    /// Runs and requires success.
    @discardableResult
    func ok(_ args: [String], stdin: String? = nil, env: [String: String] = [:]) throws -> String {
        let r = try run(args, stdin: stdin, env: env)
        #expect(r.status == 0, "sysbox \(args.joined(separator: " ")) failed (\(r.status)): \(r.stderr)")
        if r.status != 0 { throw HarnessError("sysbox \(args.joined(separator: " ")) failed: \(r.stderr)") }
        return r.stdout
    }

    /// Runs, requires failure with a one-line `Error: …` on stderr containing `text`, and returns it.
    @discardableResult
    func fails(
        _ args: [String], _ text: String, stdin: String? = nil, env: [String: String] = [:],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> String {
        let r = try run(args, stdin: stdin, env: env)
        #expect(r.status != 0, "sysbox \(args.joined(separator: " ")) should fail", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1, "not one line: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.hasPrefix("Error: "), "\(r.stderr)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains(text), "\(r.stderr.trimmingCharacters(in: .newlines)) should contain: \(text)", sourceLocation: sourceLocation)
        return r.stderr
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = root + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Every row of every table (or the file's bytes when it is not a database), to prove that a failed
    /// command changed nothing.
    func dump() throws -> String {
        guard FileManager.default.fileExists(atPath: dbPath) else { return "<no database>" }
        let queue = try DatabaseQueue(path: dbPath)
        defer { try? queue.close() }
        return try queue.read { db in
            var out = ""
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid") { out += "\(table) \(row)\n" }
            }
            return out
        }
    }
}

/// A started process whose output goes to files (so a large output never blocks it).
final class Running {
    let process = Process()
    private let tmp = NSTemporaryDirectory() + "sysbox-run-\(UUID().uuidString)"
    private let out: FileHandle
    private let err: FileHandle

    init(_ program: String, _ args: [String], stdin: String? = nil, env: [String: String] = [:], cwd: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = args
        var environment = ProcessInfo.processInfo.environment
        for key in ["SYSBOX_DATA_DIR", "SYSBOX_LOG", "COLUMNS", "SYSBOX_DB_TIMEOUT"] { environment.removeValue(forKey: key) }
        environment.merge(env) { _, new in new }
        process.environment = environment
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        _ = FileManager.default.createFile(atPath: tmp + ".out", contents: nil)
        _ = FileManager.default.createFile(atPath: tmp + ".err", contents: nil)
        out = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp + ".out"))
        err = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp + ".err"))
        process.standardOutput = out
        process.standardError = err
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try process.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
    }

    /// Waits for the exit and collects the output.
    func wait() throws -> RunResult {
        process.waitUntilExit()
        try out.close()
        try err.close()
        defer {
            try? FileManager.default.removeItem(atPath: tmp + ".out")
            try? FileManager.default.removeItem(atPath: tmp + ".err")
        }
        return RunResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: tmp + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: tmp + ".err", encoding: .utf8)) ?? "")
    }
}

/// Runs a program to its end.
func runProcess(_ program: String, _ args: [String], stdin: String? = nil, env: [String: String] = [:], cwd: String? = nil) throws -> RunResult {
    try Running(program, args, stdin: stdin, env: env, cwd: cwd).wait()
}

/// Polls `condition` every 50 ms for up to `seconds`; records an issue if it never holds.
func waitUntil(seconds: Double = 10, sourceLocation: SourceLocation = #_sourceLocation, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    Issue.record("condition not met within \(seconds) s", sourceLocation: sourceLocation)
}

/// A /proc file's bytes (procfs files report size 0, so read until EOF rather than by size).
func readProc(_ path: String) -> Data {
    guard let handle = FileHandle(forReadingAtPath: path) else { return Data() }
    defer { try? handle.close() }
    return (try? handle.readToEnd()) ?? Data()
}

/// FNV-1a of a state directory, as sysbox names its cgroups (`sysbox/<hash>/<name>`).
func cgroupHash(_ s: String) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return String(String(h, radix: 16).suffix(8))
}

extension Sandbox {
    /// What the sandbox's containers could have left on the host: cgroup directories, processes whose
    /// environment names this state directory, mounts under it. Empty when all is clean.
    /// `stateDirectory`: another state directory this sandbox's commands used (`SYSBOX_DIR=` given).
    func leftovers(stateDirectory: String? = nil) -> [String] {
        var found: [String] = []
        let stateDir = stateDirectory ?? self.stateDir
        let root = stateDirectory ?? self.root
        let hash = cgroupHash(stateDir)
        // v1 and hybrid: one hierarchy per directory of /sys/fs/cgroup; pure v2: /sys/fs/cgroup itself.
        let hierarchies = ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []).map { "/sys/fs/cgroup/\($0)" } + ["/sys/fs/cgroup"]
        for h in hierarchies {
            let dir = "\(h)/sysbox/\(hash)"
            if FileManager.default.fileExists(atPath: dir) { found.append("cgroup \(dir)") }
        }
        for pid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int(pid) != nil {
            let env = readProc("/proc/\(pid)/environ")
            if env.range(of: Data("SYSBOX_DIR=\(stateDir)\u{0}".utf8)) != nil {
                found.append("process \(pid)")
            }
        }
        if let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) {
            for line in mounts.split(separator: "\n") where line.contains(root) { found.append("mount \(line)") }
        }
        return found
    }
}

extension Sandbox {
    /// What this sandbox's networks could have left on the host: bridges whose alias names this state
    /// directory, nftables tables of those networks, run directories owned by it.
    func networkLeftovers() -> [String] {
        var found: [String] = []
        let alias = "sysbox " + stateDir
        for dir in (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net")) ?? [] {
            let text = String(decoding: readProc("/sys/class/net/\(dir)/ifalias"), as: UTF8.self).trimmingCharacters(in: .newlines)
            if text == alias { found.append("bridge \(dir)") }
        }
        let owned = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/sysbox/net")) ?? []).filter {
            (try? String(contentsOfFile: "/run/sysbox/net/\($0)/owner", encoding: .utf8)) == stateDir + "\n"
        }
        for name in owned { found.append("rundir /run/sysbox/net/\(name)") }
        if let tables = try? runProcess("/usr/sbin/nft", ["list", "tables"]).stdout {
            for name in owned + found.filter({ $0.hasPrefix("bridge ") }).map({ String($0.dropFirst(7)) })
            where tables.contains("table ip sysbox-\(name)\n") {
                found.append("nft sysbox-\(name)")
            }
        }
        return found
    }
}

enum ContainerCgroupInfo {
    /// Online CPUs of this host, from /sys/devices/system/cpu/online ("0-1" → 2).
    static func onlineCount() -> Int {
        let text = String(decoding: readProc("/sys/devices/system/cpu/online"), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.split(separator: ",").reduce(0) { total, part in
            let b = part.split(separator: "-").compactMap { Int($0) }
            return total + (b.count == 2 ? b[1] - b[0] + 1 : 1)
        }
    }
}
