import CSysbox
import Foundation

/// C strings that live until `free()`: the memory the C shim's children read (they never allocate).
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []

    func string(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!  // strdup only fails on ENOMEM
        pointers.append(p)
        return p
    }

    func optional(_ s: String?) -> UnsafeMutablePointer<CChar>? { s.map(string) }

    /// A NULL-terminated `char *const *`.
    func array(_ items: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let a = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: items.count + 1)
        for (i, s) in items.enumerated() { a[i] = string(s) }
        a[items.count] = nil
        arrays.append(a)
        return a
    }

    deinit {
        pointers.forEach { free($0) }
        arrays.forEach { $0.deallocate() }
    }
}

/// A failure reported by a child of the C shim: the step and the errno.
public struct ChildFailure: Error, CustomStringConvertible, Sendable {
    public let step: Int32
    public let errno: Int32

    static let steps: [Int32: String] = [
        1: "waiting for the monitor", 2: "creating the cgroup namespace", 3: "making mounts private",
        4: "mounting the root filesystem", 5: "entering the root filesystem", 6: "mounting /proc",
        7: "mounting /sys", 8: "mounting /dev", 9: "creating device nodes", 10: "mounting /dev/pts",
        11: "mounting /dev/shm", 12: "mounting /dev/mqueue", 13: "creating /dev links", 14: "binding /dev/console",
        15: "mounting a disk device", 16: "masking a kernel file", 17: "making kernel tunables read-only",
        18: "pivoting into the root filesystem", 19: "setting the hostname", 20: "bringing lo up",
        21: "dropping capabilities", 22: "setting up stdio", 23: "closing file descriptors", 24: "executing",
        25: "joining the container's namespaces", 26: "joining the container's cgroups", 27: "forking",
        28: "changing directory", 29: "switching user", 30: "allocating a terminal", 31: "mounting the cgroup tree",
        32: "writing a file into the container", 33: "mounting a tmpfs on /run",
        34: "starting the exec trampoline (a sealed memfd)",
    ]

    public var stepName: String { Self.steps[step] ?? "step \(step)" }
    public var description: String { "\(stepName) failed: \(Host.errnoText(errno))" }
}

/// A container init that has been cloned and waits to be released.
struct SpawnedInit {
    var handle: sysbox_spawn_handle
    var pid: Int32 { handle.pid }
    var pidfd: Int32 { handle.pidfd }

    /// The child's report when it has already failed (it builds its filesystem before being released),
    /// without waiting: polls the error pipe. nil while it is alive and well.
    func earlyFailure() -> ChildFailure? {
        var p = pollfd(fd: handle.err_fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, 0) == 1 else { return nil }
        var step: Int32 = 0, err: Int32 = 0
        guard sysbox_read_report(handle.err_fd, &step, &err) == 1 else { return nil }
        return ChildFailure(step: step, errno: err)
    }

    /// Releases init; throws `ChildFailure` when it fails before execve.
    mutating func resume() throws {
        var step: Int32 = 0
        let rc = sysbox_spawn_resume(&handle, &step)
        if rc < 0 { throw ChildFailure(step: step, errno: -rc) }
    }
}

enum Spawner {
    /// Clones the container's init from a plan (see `sysbox_spawn`).
    static func spawn(plan: StartPlan, cgroup: ContainerCgroup, consolePath: String, consoleFD: Int32) throws -> SpawnedInit {
        let c = CStrings()
        // /run: a fresh tmpfs (as systemd-nspawn does), where /run/host/container-manager is written.
        var disks: [sysbox_mount] = [sysbox_mount(source: nil, target: UnsafePointer(c.string("run")), readonly: 0, create: 1, keep_flags: 0)]
        disks += plan.disks.map {
            sysbox_mount(source: UnsafePointer(c.string($0.source)), target: UnsafePointer(c.string($0.target)),
                         readonly: $0.readonly ? 1 : 0, create: $0.isDirectory ? 1 : 2, keep_flags: UInt($0.keepFlags ?? 0))
        }
        let maskFile = try maskSource()
        disks += Hardening.maskedFiles.map {
            sysbox_mount(source: UnsafePointer(c.string(maskFile)), target: UnsafePointer(c.string($0)), readonly: 1, create: 0, keep_flags: 0)
        }
        disks += Hardening.maskedDirectories.map {
            sysbox_mount(source: nil, target: UnsafePointer(c.string($0)), readonly: 1, create: 0, keep_flags: 0)
        }
        let fsMounts: [sysbox_fsmount] = cgroup.containerMounts(unifiedOnly: plan.cgroupView == "unified").map { m in
            sysbox_fsmount(target: UnsafePointer(c.string(m.target)), fstype: m.fstype.map { UnsafePointer(c.string($0)) },
                           source: UnsafePointer(c.string(m.fstype ?? "none")), options: m.options.map { UnsafePointer(c.string($0)) },
                           flags: m.flags, mkdir: m.mkdir ? 1 : 0)
        }
        let contents = plan.files.map { (c.string($0.path), Array($0.content.utf8CString)) }
        var files: [sysbox_file] = []
        var contentPointers: [UnsafeMutablePointer<CChar>] = []
        for (path, bytes) in contents {
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
            p.initialize(from: bytes, count: bytes.count)
            contentPointers.append(p)
            files.append(sysbox_file(target: UnsafePointer(path), content: UnsafePointer(p), length: bytes.count - 1))
        }
        defer { contentPointers.forEach { $0.deallocate() } }
        let join = cgroup.joinTargets
        let taskPaths = join.tasks.map { UnsafePointer<CChar>?(c.string($0)) }
        let cgroupFD = try join.openV2Directory()
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        let rebindPaths = Hardening.rebinds.map { UnsafePointer<CChar>?(c.string($0.0)) }
        let rebindRO = Hardening.rebinds.map { Int32($0.1 ? 1 : 0) }

        var handle = sysbox_spawn_handle()
        let rc: Int32 = disks.withUnsafeBufferPointer { disksPtr in
            fsMounts.withUnsafeBufferPointer { fsPtr in
                files.withUnsafeBufferPointer { filesPtr in
                    rebindPaths.withUnsafeBufferPointer { rbPtr in
                        rebindRO.withUnsafeBufferPointer { roPtr in
                          taskPaths.withUnsafeBufferPointer { tasksPtr in
                            var config = sysbox_spawn_config(
                                rootfs: UnsafePointer(c.string(plan.rootfsPath)),
                                rootfs_fstype: plan.rootfsType.map { UnsafePointer(c.string($0)) },
                                rootfs_options: plan.rootfsOptions.map { UnsafePointer(c.string($0)) },
                                hostname: UnsafePointer(c.string(plan.name)),
                                console_path: UnsafePointer(c.string(consolePath)),
                                console_fd: consoleFD,
                                init_path: UnsafePointer(c.string(plan.initPath)),
                                argv: c.array([plan.initPath] + plan.initArgs),
                                envp: c.array(plan.environment),
                                mounts: disksPtr.baseAddress, mount_count: Int32(disksPtr.count),
                                files: filesPtr.baseAddress, file_count: Int32(filesPtr.count),
                                rebind_paths: rbPtr.baseAddress, rebind_readonly: roPtr.baseAddress,
                                rebind_count: Int32(rbPtr.count),
                                fs_mounts: fsPtr.baseAddress, fs_mount_count: Int32(fsPtr.count),
                                drop_caps: Hardening.dropMask,
                                cgroup_tasks: tasksPtr.baseAddress, cgroup_task_count: Int32(tasksPtr.count),
                                cgroup_fd: cgroupFD)
                            return sysbox_spawn(&config, &handle)
                          }
                        }
                    }
                }
            }
        }
        guard rc > 0 else { throw SysboxError(.io, "cannot create the container's namespaces (clone): \(Host.errnoText(-rc))") }
        return SpawnedInit(handle: handle)
    }

    /// An empty, read-only regular file sysbox owns: what masked kernel files show (never a path taken
    /// from inside a container).
    static func maskSource() throws -> String {
        let dir = "/run/sysbox"
        let path = dir + "/mask-file"
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size == 0, st.st_uid == 0 { return path }
        mkdir(dir, 0o711)
        unlink(path)
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0o000)
        guard fd >= 0 else { throw SysboxError(.io, "cannot create \(path): \(Host.errnoText(errno))") }
        close(fd)
        return path
    }
}
