import CSysbox
import Foundation

/// C strings that live until `free()`: the memory the C shim's children read (they never allocate).
final class CStrings {
    private var pointers: [UnsafeMutablePointer<CChar>] = []
    private var arrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []
    private var buffers: [() -> Void] = []

    func string(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!  // strdup only fails on ENOMEM
        pointers.append(p)
        return p
    }

    func optional(_ s: String?) -> UnsafeMutablePointer<CChar>? { s.map(string) }

    /// A copy of `items` that lives as long as this object (for C arrays of structs and pointers).
    func buffer<T>(_ items: [T]) -> UnsafeMutablePointer<T>? {
        guard !items.isEmpty else { return nil }
        let p = UnsafeMutablePointer<T>.allocate(capacity: items.count)
        p.initialize(from: items, count: items.count)
        buffers.append {
            p.deinitialize(count: items.count); p.deallocate()
        }
        return p
    }

    /// A string with its length (not counting the NUL), for contents that may hold NULs.
    func bytes(_ s: String) -> (UnsafeMutablePointer<CChar>?, Int) {
        let utf8 = Array(s.utf8CString)
        return (buffer(utf8), utf8.count - 1)
    }

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
        buffers.forEach { $0() }
    }
}

/// A failure reported by a child of the C shim: the step and the errno.
public struct ChildFailure: Error, CustomStringConvertible, Sendable {
    public let step: Int32
    public let errno: Int32

    /// The step as the C enum (nil for a number it does not have).
    var kind: sysbox_step? { step >= 0 ? sysbox_step(rawValue: UInt32(step)) : nil }

    public var stepName: String { sysbox_step_name(step).map { String(cString: $0) } ?? "step \(step)" }
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
    /// Clones the container's init from a plan (see `sysbox_spawn`): the plan's entries as C structs,
    /// the console filled in, the cgroups to join, the seccomp filter (BPF bytes) init loads last.
    static func spawn(plan: StartPlan, cgroup: ContainerCgroup, consolePath: String, consoleFD: Int32, seccomp: [UInt8]) throws -> SpawnedInit {
        let c = CStrings()
        _ = try maskSource()
        let entries = plan.mounts.map { entry(for: $0, consolePath: consolePath, in: c) }
        let join = cgroup.joinTargets
        let tasks: [UnsafePointer<CChar>?] = join.tasks.map { UnsafePointer(c.string($0)) }
        let cgroupFD = try join.openV2Directory()
        defer { if cgroupFD >= 0 { close(cgroupFD) } }
        try Rlimits.check(plan.rlimits ?? [], container: plan.name)
        let rlimits = (plan.rlimits ?? []).map { sysbox_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        var config = sysbox_spawn_config(
            hostname: UnsafePointer(c.string(plan.name)), console_fd: consoleFD, init_path: UnsafePointer(c.string(plan.initPath)),
            argv: c.array([plan.initPath] + plan.initArgs), envp: c.array(plan.environment),
            entries: UnsafePointer(c.buffer(entries)), entry_count: Int32(entries.count), drop_caps: Hardening.dropMask,
            cgroup_tasks: UnsafePointer(c.buffer(tasks)), cgroup_task_count: Int32(tasks.count), cgroup_fd: cgroupFD,
            seccomp_filter: UnsafePointer(c.buffer(seccomp)), seccomp_length: UInt32(seccomp.count),
            uid_map: plan.userNamespace.map { UnsafePointer(c.string($0.uidMap)) },
            gid_map: plan.userNamespace.map { UnsafePointer(c.string($0.gidMap)) },
            rlimits: UnsafePointer(c.buffer(rlimits)), rlimit_count: Int32(rlimits.count))
        var handle = sysbox_spawn_handle()
        let rc = sysbox_spawn(&config, &handle)
        if rc < 0, handle.failed_step != 0 { throw userNamespaceFailure(ChildFailure(step: handle.failed_step, errno: -rc), container: plan.name) }
        guard rc > 0 else { throw SysboxError(.io, "cannot create the container's namespaces (clone): \(Host.errnoText(-rc))") }
        return SpawnedInit(handle: handle)
    }

    /// A user namespace's set-up failure with its fix: the kernel or filesystem cannot idmap, or user
    /// namespaces are off. Other steps keep their own message.
    static func userNamespaceFailure(_ failure: ChildFailure, container name: String) -> Error {
        let privileged = "or run it privileged: sysbox config set \(name) security.privileged=true"
        switch failure.kind {
        case .SYSBOX_STEP_IDMAP?:
            return SysboxError(
                .unsupported,
                "\(failure.description): unprivileged containers need idmapped mounts (Linux 5.19 or later for overlay, and a filesystem that has them under SYSBOX_DIR: ext4, xfs, btrfs; not NFS); move SYSBOX_DIR \(privileged)"
            )
        case .SYSBOX_STEP_USERNS?:
            return SysboxError(
                .unsupported,
                "\(failure.description): the kernel refused the container's user namespace; check the sysctl user.max_user_namespaces (0 turns them off) \(privileged)")
        case .SYSBOX_STEP_RLIMITS?:
            let nrOpen = (try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            return SysboxError(
                .invalidArgument,
                "\(failure.description): a limits.kernel.* value is above what the kernel allows (nofile: at most fs.nr_open, \(nrOpen) here; a hard limit above the host's needs CAP_SYS_RESOURCE); lower it: sysbox config set \(name) limits.kernel.NAME=VALUE"
            )
        default:
            return failure
        }
    }

    /// One plan entry as the C child reads it (strings owned by `c`).
    static func entry(for m: StartPlan.Mount, consolePath: String, in c: CStrings) -> sysbox_entry {
        func str(_ s: String?) -> UnsafePointer<CChar>? { s.map { UnsafePointer(c.string($0)) } }
        let (content, length) = m.content.map { c.bytes($0) } ?? (nil, 0)
        let create: Int32 =
            switch m.create {
            case nil: Int32(SYSBOX_CREATE_NONE)
            case .directory?: Int32(SYSBOX_CREATE_DIRECTORY)
            case .file?: Int32(SYSBOX_CREATE_FILE)
            }
        return sysbox_entry(
            kind: entryKind(m.kind), step: step(of: m), target: str(m.target),
            source: str(m.kind == .console ? consolePath : m.source), fstype: str(m.fstype), options: str(m.options),
            flags: (m.flags ?? []).reduce(0) { $0 | $1.value }, mode: m.mode ?? 0, create: create,
            major: m.major ?? 0, minor: m.minor ?? 0, content: UnsafePointer(content), length: length)
    }

    /// The C kind of a plan entry, one for one.
    static func entryKind(_ kind: StartPlan.Mount.Kind) -> sysbox_entry_kind {
        switch kind {
        case .rootfs: .SYSBOX_ENTRY_ROOTFS
        case .directory: .SYSBOX_ENTRY_DIRECTORY
        case .proc: .SYSBOX_ENTRY_PROC
        case .sysfs: .SYSBOX_ENTRY_SYSFS
        case .tmpfs: .SYSBOX_ENTRY_TMPFS
        case .devNode: .SYSBOX_ENTRY_DEV_NODE
        case .devpts: .SYSBOX_ENTRY_DEVPTS
        case .mqueue: .SYSBOX_ENTRY_MQUEUE
        case .symlink: .SYSBOX_ENTRY_SYMLINK
        case .console: .SYSBOX_ENTRY_CONSOLE
        case .bind: .SYSBOX_ENTRY_BIND
        case .maskFile: .SYSBOX_ENTRY_MASK_FILE
        case .maskDir: .SYSBOX_ENTRY_MASK_DIR
        case .file: .SYSBOX_ENTRY_FILE
        case .rebind: .SYSBOX_ENTRY_REBIND
        case .release: .SYSBOX_ENTRY_RELEASE
        case .cgroup: .SYSBOX_ENTRY_CGROUP
        case .remount: .SYSBOX_ENTRY_REMOUNT
        case .idmapped: .SYSBOX_ENTRY_IDMAPPED
        case .sysctl: .SYSBOX_ENTRY_SYSCTL
        }
    }

    /// The step a failing entry reports (what its message says it was doing).
    static func step(of m: StartPlan.Mount) -> sysbox_step {
        switch m.kind {
        case .rootfs: return .SYSBOX_STEP_MOUNT_ROOTFS
        case .idmapped: return .SYSBOX_STEP_IDMAP
        case .directory, .proc, .sysfs:
            // proc, sys and dev are checked as directories before any is mounted.
            return m.target == "proc" ? .SYSBOX_STEP_MOUNT_PROC : m.target == "sys" ? .SYSBOX_STEP_MOUNT_SYS : .SYSBOX_STEP_MOUNT_DEV
        case .tmpfs:
            switch m.target {
            case "dev": return .SYSBOX_STEP_MOUNT_DEV
            case "dev/shm": return .SYSBOX_STEP_MOUNT_SHM
            case "run": return .SYSBOX_STEP_MOUNT_RUN
            case "rootfs": return .SYSBOX_STEP_MOUNT_ROOTFS
            default: return .SYSBOX_STEP_MOUNT_CGROUP
            }
        case .devNode: return .SYSBOX_STEP_MKNOD
        case .devpts: return .SYSBOX_STEP_MOUNT_DEVPTS
        case .mqueue: return .SYSBOX_STEP_MOUNT_MQUEUE
        case .symlink: return .SYSBOX_STEP_SYMLINKS
        case .console: return .SYSBOX_STEP_CONSOLE
        case .bind: return m.device == nil && m.target.hasPrefix("dev/") ? .SYSBOX_STEP_MKNOD : .SYSBOX_STEP_MOUNT_DISK
        case .maskFile, .maskDir: return .SYSBOX_STEP_MASK
        case .file: return .SYSBOX_STEP_FILES
        case .rebind: return .SYSBOX_STEP_READONLY
        case .release: return .SYSBOX_STEP_SYNC_WAIT
        case .cgroup, .remount: return .SYSBOX_STEP_MOUNT_CGROUP
        case .sysctl: return .SYSBOX_STEP_SYSCTL
        }
    }

    /// Where `maskSource` keeps the mask file.
    static let maskFilePath = "/run/sysbox/mask-file"

    /// An empty, read-only regular file sysbox owns: what masked kernel files show (never a path taken
    /// from inside a container).
    static func maskSource() throws -> String {
        let path = maskFilePath
        let dir = (path as NSString).deletingLastPathComponent
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
