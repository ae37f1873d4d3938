import CSysbox
import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// lxcfs (Debian's `lxcfs` package, the daemon LXD uses): a FUSE filesystem whose /proc and /sys files
/// answer for the cgroup of the process that reads them, so that a container's `free`, `uptime` and
/// `/proc/cpuinfo` show its own limits and uptime. sysbox binds those files read-only over the
/// container's own at start (`binds(mountPoint:present:)`, placed by `StartPlanner.mounts`).
///
/// One lxcfs serves the whole host: a running one at `systemMountPoints` (Debian's lxcfs.service, LXD's)
/// if there is one, else sysbox's own at `ownMountPoint`, started on demand by the first start that
/// needs it and left running (as LXD's lxcfs service: nothing stops it; containers may run from
/// several state directories). `SYSBOX_LXCFS_DIR` names another mount point for sysbox's own (the
/// tests use one of their own that they stop).
enum Lxcfs {
    /// The files bound into a container, relative to both the lxcfs mount and the rootfs.
    static let files = [
        "proc/cpuinfo", "proc/diskstats", "proc/loadavg", "proc/meminfo", "proc/stat", "proc/swaps", "proc/uptime",
        "sys/devices/system/cpu/online"
    ]
    /// Where sysbox mounts its own lxcfs (its pid file and log beside it: `.pid`, `.log`).
    static let ownMountPoint = "/var/lib/sysbox-lxcfs"
    /// Where a running lxcfs that sysbox uses instead of its own is mounted (Debian's and LXD's place).
    static let systemMountPoints = ["/var/lib/lxcfs"]
    /// The environment variable that replaces `ownMountPoint` (and makes sysbox use only that one).
    static let environmentKey = "SYSBOX_LXCFS_DIR"
    /// The settings key recording that the "lxcfs is not installed" notice was shown.
    static let noticeKey = "lxcfs.notice"
    /// lxcfs's options: /proc/loadavg per container, and CPU counts from the CFS quota (`limits.cpu=N`
    /// is a quota, not a cpuset).
    static let options = ["--enable-loadavg", "--enable-cfs"]

    /// `security.lxcfs` (default true).
    static func enabled(_ config: [String: String]) -> Bool {
        (try? Values.bool(config["security.lxcfs"] ?? "true")) ?? true
    }

    /// The read-only binds of `present` (a subset of `files`) from the lxcfs mounted at `mountPoint`,
    /// over the container's own files (skipped at start when the container has no such file).
    static func binds(mountPoint: String, present: [String]) -> [StartPlan.Mount] {
        files.filter(present.contains).map {
            StartPlan.Mount(.bind, $0, source: mountPoint + "/" + $0, flags: [.readonly, .nosuid, .nodev, .noexec])
        }
    }

    /// The mount points of the `fuse.lxcfs` mounts in a /proc/self/mountinfo text (octal escapes such
    /// as `\040` decoded).
    static func mountPoints(mountinfo: String) -> Set<String> {
        var points = Set<String>()
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false)
            guard fields.count > 4, let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields[dash + 1] == "fuse.lxcfs" else { continue }
            points.insert(unescape(String(fields[4])))
        }
        return points
    }

    /// mountinfo's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash) decoded.
    static func unescape(_ text: String) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
                let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 0 when the lxcfs at `mountPoint` answers (stat(2) of its /proc/meminfo), else the errno:
    /// ENOTCONN when its daemon died with the mount left behind.
    static func probe(_ mountPoint: String) -> Int32 {
        var st = stat()
        return stat(mountPoint + "/proc/meminfo", &st) == 0 ? 0 : errno
    }

    /// `plan` without the lxcfs binds whose source no longer answers (stat(2) fails: ENOTCONN once
    /// its daemon died), for a reboot from inside: the container then boots with the kernel's own
    /// files rather than failing its bind. The next `start` brings lxcfs back.
    static func answering(_ plan: StartPlan) -> StartPlan {
        var plan = plan
        plan.mounts.removeAll { m in
            guard m.kind == .bind, m.device == nil, files.contains(m.target), let source = m.source, source.hasSuffix("/" + m.target) else {
                return false
            }
            var st = stat()
            return stat(source, &st) != 0
        }
        return plan
    }

    /// The files of `files` the lxcfs at `mountPoint` serves.
    static func present(at mountPoint: String) -> [String] {
        files.filter { access(mountPoint + "/" + $0, F_OK) == 0 }
    }

    /// The `lxcfs` binary on `PATH` (sysbox's default path when unset), as a shell finds it; nil: not
    /// installed.
    static func executable() -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? SYSBOX_DEFAULT_PATH
        return path.split(separator: ":").map { $0 + "/lxcfs" }.first { access($0, X_OK) == 0 }
    }

    static func currentMountPoints() -> Set<String> {
        mountPoints(mountinfo: (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? "")
    }
}

/// Finds or starts the host's lxcfs for a container's start.
struct LxcfsService: StateBound {
    let state: State

    /// The lxcfs mount a container with `config` binds its files from: nil when `security.lxcfs` is
    /// false, or when lxcfs is not installed (then a notice, once per state directory, in `warnings`),
    /// or when it cannot start (then a warning: the container starts without it). Starts sysbox's own
    /// lxcfs when none runs: `lxcfs --enable-loadavg --enable-cfs -p MOUNT.pid MOUNT` detached
    /// (`sysbox_spawn_detached`, its own session), under an flock(2) of `MOUNT.lock`; an own mount
    /// whose daemon died (stat gives ENOTCONN) is detached (umount2 MNT_DETACH) and started again.
    func mountPoint(for config: [String: String], warnings: inout [String]) -> String? {
        guard Lxcfs.enabled(config) else { return nil }
        let environment = ProcessInfo.processInfo.environment[Lxcfs.environmentKey].flatMap { $0.isEmpty ? nil : $0 }
        var mounted = Lxcfs.currentMountPoints()
        if environment == nil, let system = Lxcfs.systemMountPoints.first(where: { mounted.contains($0) && Lxcfs.probe($0) == 0 }) {
            return system
        }
        let own = environment ?? Lxcfs.ownMountPoint
        if mounted.contains(own), Lxcfs.probe(own) == 0 { return own }
        guard let exe = Lxcfs.executable() else {
            notifyMissing(&warnings)
            return nil
        }
        do {
            try FileManager.default.createDirectory(atPath: (own as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let lock = open(own + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard lock >= 0 else { throw SysboxError(.io, "cannot open \(own).lock: \(Host.errnoText(errno))") }
            defer { close(lock) }
            while flock(lock, LOCK_EX) < 0 && errno == EINTR {}
            // Another start may have made it meanwhile.
            mounted = Lxcfs.currentMountPoints()
            if mounted.contains(own) {
                if Lxcfs.probe(own) == 0 { return own }
                // Its daemon died: the dead mount goes (running containers keep their binds of it).
                Self.logger.notice("lxcfs at \(own) is gone (\(Host.errnoText(Lxcfs.probe(own)))); starting it again")
                umount2(own, Int32(MNT_DETACH))
            }
            guard mkdir(own, 0o755) == 0 || errno == EEXIST else { throw SysboxError(.io, "cannot create \(own): \(Host.errnoText(errno))") }
            try start(exe, at: own)
            return own
        } catch {
            warnings.append("lxcfs did not start (\(Host.describe(error))): the container sees the host's /proc/meminfo, cpuinfo and uptime")
            return nil
        }
    }

    /// Starts lxcfs detached and waits (up to 5 s) until its mount answers.
    private func start(_ exe: String, at mountPoint: String) throws {
        let log = mountPoint + ".log"
        let devNullIn = open("/dev/null", O_RDONLY | O_CLOEXEC), devNullOut = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let logFD = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        defer { for fd in [devNullIn, devNullOut, logFD] where fd >= 0 { close(fd) } }
        guard devNullIn >= 0, devNullOut >= 0, logFD >= 0 else { throw SysboxError(.io, "cannot open /dev/null or \(log): \(Host.errnoText(errno))") }
        let c = CStrings()
        let stdio: [Int32] = [devNullIn, devNullOut, logFD, -1]
        let argv = [exe] + Lxcfs.options + ["-p", mountPoint + ".pid", mountPoint]
        let pid = stdio.withUnsafeBufferPointer { fds in
            sysbox_spawn_detached(exe, c.array(argv), c.array(["PATH=\(SYSBOX_DEFAULT_PATH)"]), fds.baseAddress, -1, 0)
        }
        guard pid > 0 else { throw SysboxError(.io, "cannot run \(exe): \(Host.errnoText(-pid))") }
        let started = DispatchTime.now()
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            if Lxcfs.currentMountPoints().contains(mountPoint), Lxcfs.probe(mountPoint) == 0 {
                Self.logger.debug("lxcfs ready", metadata: ["ms": "\(Self.ms(started, .now()))", "pid": "\(pid)"])
                return
            }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let tail = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").last.map(String.init) ?? ""
                throw SysboxError(.io, "\(exe) exited before its mount at \(mountPoint) was ready\(tail.isEmpty ? "" : ": " + tail)")
            }
            usleep(2000)
        }
        kill(pid, SIGTERM)
        throw SysboxError(.io, "\(exe) did not mount \(mountPoint) within 5 s (see \(log))")
    }

    /// The one-time notice that lxcfs is missing, recorded in the settings table.
    private func notifyMissing(_ warnings: inout [String]) {
        let first =
            (try? write { db -> Bool in
                guard try Settings.get(db, Lxcfs.noticeKey) == nil else { return false }
                try Settings.set(db, Lxcfs.noticeKey, ISO8601DateFormatter().string(from: Date()))
                return true
            }) ?? false
        if first {
            warnings.append(
                "lxcfs is not installed: containers see the host's memory, CPUs and uptime in /proc (apt-get install lxcfs; security.lxcfs=false silences this; shown once)"
            )
        }
    }
}
