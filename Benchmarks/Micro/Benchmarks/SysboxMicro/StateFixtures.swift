import Foundation
import GRDB
import SysboxCore
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

struct FixtureError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum Checkout {
    /// The sysbox checkout (for `Profiles/` and `Templates/`): `$SYSBOX_DATA_DIR`, else the checkout
    /// this file is in (Benchmarks/Micro/Benchmarks/SysboxMicro/ below it).
    static var root: String {
        if let dir = ProcessInfo.processInfo.environment["SYSBOX_DATA_DIR"], !dir.isEmpty { return dir }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<5 { url.deleteLastPathComponent() }
        return url.path
    }

    /// A profile shipped in `Profiles/`, parsed as sysbox parses it.
    static func profile(_ name: String) throws -> ConfigLayer {
        let path = root + "/Profiles/\(name).yaml"
        return try ProfileYAML.parse(try String(contentsOfFile: path, encoding: .utf8), file: path).layer
    }
}

/// A state directory of its own under /tmp (never /var/lib/sysbox), removed by `remove()`.
final class StateDirectory {
    let path: String
    let manager: Manager

    init(_ label: String) throws {
        var template = Array("/tmp/sysbox-micro-\(label).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw FixtureError("mkdtemp: \(String(cString: strerror(errno)))") }
        path = String(cString: made)
        do {
            manager = try Manager(stateDirectory: path, dataDirectory: Checkout.root)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// `count` stopped containers as `sysbox create` records them (own config with volatile keys and a
    /// user key, the default profile, every tenth also `small`), written straight into the database:
    /// `list` reads only the database and each container's pid files, so no storage is needed.
    func seedContainers(_ count: Int) throws {
        try manager.store.write { db in
            guard let defaultID = try ProfileRecord.named("default", in: db)?.id,
                let smallID = try ProfileRecord.named("small", in: db)?.id
            else {
                throw FixtureError("the shipped profiles default and small are missing")
            }
            for i in 0..<count {
                var record = ContainerRecord(name: String(format: "c%04d", i), image: "busybox", description: "container \(i)")
                try record.insert(db)
                guard let id = record.id else { throw FixtureError("no id for container \(i)") }
                try ConfigTable.containers.replace(
                    db, owner: id,
                    with: [
                        "volatile.uuid": UUID().uuidString.lowercased(),
                        "volatile.base_image": String(repeating: "ab", count: 32),
                        "user.role": i % 2 == 0 ? "web" : "db"
                    ])
                try ContainerProfiles.replace(db, container: id, profiles: i % 10 == 0 ? [defaultID, smallID] : [defaultID])
            }
        }
    }
}

/// A running busybox container in a state directory of its own, for `exec`. It is created through
/// the library (`Manager.createContainer`); it is started by the `sysbox` binary (`$SYSBOX_BENCH_BIN`),
/// because `Manager.start` launches the monitor as `/proc/self/exe __monitor NAME`, which must be
/// sysbox itself. No NIC (only a root disk), so no bridge, dnsmasq or NAT is touched.
final class RunningContainer {
    let state: StateDirectory
    let name = "micro1"
    let binary: String

    init() throws {
        guard getuid() == 0 else { throw FixtureError("the exec benchmark starts a container and must run as root") }
        guard let binary = ProcessInfo.processInfo.environment["SYSBOX_BENCH_BIN"], FileManager.default.isExecutableFile(atPath: binary) else {
            throw FixtureError("set SYSBOX_BENCH_BIN to a built sysbox binary (Benchmarks/micro.sh does)")
        }
        self.binary = binary
        state = try StateDirectory("exec")
        do {
            try state.manager.createContainer(
                CreateRequest(
                    name: name, image: "busybox", profiles: [],
                    devices: ["root": ["type": "disk", "path": "/"]]))
            try runSysbox(["start", name])
            guard state.manager.liveState(name) != nil else { throw FixtureError("container \(name) is not running after start") }
        } catch {
            remove()
            throw error
        }
    }

    /// Deletes the container (killing it) and the state directory.
    func remove() {
        do {
            try state.manager.deleteContainers([name], force: true)
        } catch {
            // Whatever the library could not do, the CLI tries once more before the directory goes.
            try? runSysbox(["delete", "--force", name])
        }
        state.remove()
    }

    /// Runs `sysbox ARGS` on this state directory: stdin /dev/null, output into the state directory,
    /// no descriptor of this process beyond 0-2 (the benchmark's pipes must not outlive it in a
    /// monitor), and without the malloc interposer's LD_PRELOAD.
    private func runSysbox(_ arguments: [String]) throws {
        let log = state.path + "/cli.log"
        var env = ProcessInfo.processInfo.environment
        env["LD_PRELOAD"] = nil
        env["SYSBOX_DIR"] = state.path
        env["SYSBOX_DATA_DIR"] = Checkout.root
        let argv = [binary] + arguments
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // (posix_spawn_file_actions_addclosefrom_np is not visible from Swift's Glibc module.)
        let fds = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
        for fd in fds where fd > 2 && fcntl(fd, F_GETFD) >= 0 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, binary, &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw FixtureError("cannot run \(binary): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw FixtureError("sysbox \(arguments.joined(separator: " ")) failed (status \(status)): \(output)")
        }
    }
}
