import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Locks the `readonly=true` disks of an unprivileged container, so that its root cannot remount them
/// read-write. The kernel locks a mount's flags (MNT_LOCK_READONLY…) when it copies a mount namespace
/// into one of a less privileged user namespace, and a bind of a locked mount stays locked; a mount the
/// container's root makes in its own namespace is not. So the monitor, host root in a mount namespace
/// of its own (`DetachedProcess.launch(ownMountNamespace:)`), binds each such source read-only (all
/// the way down) under `containers/NAME/staging` before it clones init, whose namespace is copied from
/// the monitor's; init binds the staged copy, not the source, at the disk's path. The staging exists
/// only in the monitor's namespace (a tmpfs over the directory there) and is detached once init runs;
/// it ends with the monitor if the monitor dies first.
struct ReadOnlyDisks {
    /// The tmpfs the staged binds live under.
    let directory: String

    /// The environment variable in which `DetachedProcess.launch(ownMountNamespace:)` tells the monitor
    /// its launcher's mount namespace (`mnt:[INODE]`).
    static let launcherNamespace = "SYSBOX_LAUNCHER_MNTNS"

    /// This process's mount namespace, as readlink(2) of /proc/self/ns/mnt shows it.
    static func mountNamespace() -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/mnt")
    }

    /// The plan's disk binds that need staging: those of an unprivileged container that are read-only.
    static func needsStaging(_ plan: StartPlan) -> [Int] {
        guard plan.userNamespace != nil else { return [] }
        return plan.mounts.indices.filter { i in
            let m = plan.mounts[i]
            return m.kind == .bind && m.device != nil && (m.flags ?? []).contains(.readonly) && m.source?.hasPrefix("/") == true
        }
    }

    /// Stages the read-only disks of `plan` under `directory` (mount(2) a tmpfs, then MS_BIND|MS_REC of
    /// each source and `sysbox_mount_restrict_tree`) and returns the plan with those binds' sources
    /// pointing at their staged copies, and the staging to release; nil when nothing needs staging.
    /// - Throws: `SysboxError(.io)` naming the device and the failing call; what was staged is
    ///   released first.
    static func stage(_ plan: StartPlan, directory: String) throws -> (StartPlan, ReadOnlyDisks?) {
        let indices = needsStaging(plan)
        guard !indices.isEmpty else { return (plan, nil) }
        // Never on the host's mounts: only a monitor in a mount namespace other than its launcher's.
        let launcher = ProcessInfo.processInfo.environment[Self.launcherNamespace]
        guard let launcher, let mine = Self.mountNamespace(), mine != launcher else {
            throw SysboxError(
                .internalError, "the monitor of \(plan.name) shares the host's mount namespace, so it cannot stage the read-only disks; stop and start the container again")
        }
        guard mkdir(directory, 0o700) == 0 || errno == EEXIST else {
            throw SysboxError(.io, "cannot create \(directory) to stage the read-only disks: \(Host.errnoText(errno))")
        }
        guard mount("tmpfs", directory, "tmpfs", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), "mode=0700,size=64k") == 0 else {
            throw SysboxError(.io, "cannot mount a tmpfs on \(directory) to stage the read-only disks: \(Host.errnoText(errno))")
        }
        let staging = ReadOnlyDisks(directory: directory)
        var plan = plan
        do {
            for (n, i) in indices.enumerated() {
                let m = plan.mounts[i]
                guard let source = m.source else { continue }
                let path = "\(directory)/\(n)"
                let what = "device \(m.device ?? "?") (\(source))"
                let made = m.create == .file ? open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600) : mkdir(path, 0o700)
                guard made >= 0 else { throw SysboxError(.io, "cannot stage \(what) at \(path): \(Host.errnoText(errno))") }
                if m.create == .file { close(made) }
                guard mount(source, path, nil, UInt(MS_BIND | MS_REC), nil) == 0 else {
                    throw SysboxError(.io, "cannot stage \(what) read-only (bind): \(Host.errnoText(errno))")
                }
                // Private before read-only: a host mount made below the source meanwhile would otherwise
                // propagate into the staged copy writable, after the flags are set.
                guard mount(nil, path, nil, UInt(MS_REC | MS_PRIVATE), nil) == 0 else {
                    throw SysboxError(.io, "cannot stage \(what) read-only (MS_PRIVATE): \(Host.errnoText(errno))")
                }
                let flags = (m.flags ?? []).reduce(UInt(0)) { $0 | $1.value }
                let rc = sysbox_mount_restrict_tree(path, flags)
                guard rc == 0 else { throw SysboxError(.io, "cannot stage \(what) read-only (mount_setattr): \(Host.errnoText(-rc))") }
                plan.mounts[i].source = path
            }
        } catch {
            staging.release()
            throw error
        }
        return (plan, staging)
    }

    /// Detaches the staging tmpfs and every bind under it (umount2 MNT_DETACH: init's copies stay),
    /// and removes the empty directory.
    func release() {
        _ = umount2(directory, Int32(MNT_DETACH))
        _ = rmdir(directory)
    }
}
