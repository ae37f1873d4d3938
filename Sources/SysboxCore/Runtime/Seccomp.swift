import CSysbox
import Foundation

#if canImport(Glibc)
import Glibc
#endif

extension ContainerPaths {
    /// The container's seccomp filter as BPF (format: CSysbox.h, "seccomp.bpf"), written at start and
    /// loaded by init and by every exec on both exec paths.
    var seccompFilter: String { directory + "/seccomp.bpf" }
}

/// The seccomp policy of containers: allow by default, deny what a container must not reach (LXC's
/// list, and for privileged containers what reaches host-global state). The filter is built with
/// libseccomp (`sysbox_seccomp_build`) in the parent; the children only load the exported BPF.
enum SeccompPolicy {
    /// An architecture of the filter (its own syscall numbers).
    enum Arch: CaseIterable, Sendable {
        case x86_64, i386

        var bit: Int32 { self == .x86_64 ? Int32(SYSBOX_SECCOMP_X86_64) : Int32(SYSBOX_SECCOMP_I386) }
    }

    /// `args[argument] == value`, or `(args[argument] & mask) == value` when `mask` is set.
    struct Condition: Sendable, Equatable {
        var argument: UInt32
        var mask: UInt64?
        var value: UInt64
    }

    /// One denied syscall: its name (libseccomp's), the errno it returns, the conditions on its
    /// arguments, the architectures it applies to.
    struct Rule: Sendable, Equatable {
        var syscall: String
        var errno: Int32
        var conditions: [Condition] = []
        var arches: [Arch] = Arch.allCases
    }

    /// umount2's MNT_FORCE; socket's AF_NETLINK and NETLINK_AUDIT.
    static let mntForce: UInt64 = 1
    static let afNetlink: UInt64 = 16
    static let netlinkAudit: UInt64 = 9

    /// The syscalls an architecture may lack (i386 has no kexec_file_load).
    static let notOnEveryArch: Set<String> = ["kexec_file_load"]

    /// The default rules (the reference's table, unprivileged-and-seccomp.md §6.3). `privileged` adds
    /// what only host-root containers must not do: the keyrings (host root's, not namespaced), tracing,
    /// kmsg, fs-wide watches, quotas, accounting, port I/O and swap.
    static func defaultRules(privileged: Bool) -> [Rule] {
        var rules: [Rule] = []
        func deny(_ names: [String], _ errno: Int32) { rules += names.map { Rule(syscall: $0, errno: errno) } }
        // LXC's list and kexec_file_load, which LXC/Incus miss: ENOSYS, so callers fall back.
        deny(["kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module"], ENOSYS)
        // "Shocker": a file handle opens any file of the filesystem, outside the container's root.
        deny(["open_by_handle_at"], EPERM)
        deny(["userfaultfd"], EPERM)
        // Force-unmounting shared mounts.
        rules.append(Rule(syscall: "umount2", errno: EPERM, conditions: [Condition(argument: 1, mask: mntForce, value: mntForce)]))
        // Audit is not namespaced. i386 reaches socket through socketcall too, whose arguments are in
        // memory where seccomp cannot read them: checked on x86_64 only.
        rules.append(
            Rule(
                syscall: "socket", errno: EAFNOSUPPORT,
                conditions: [Condition(argument: 0, value: afNetlink), Condition(argument: 2, value: netlinkAudit)], arches: [.x86_64]))
        if privileged {
            deny(["keyctl", "add_key", "request_key"], ENOSYS)
            deny(["iopl", "ioperm", "swapon", "swapoff"], EPERM)
            deny(["bpf", "perf_event_open", "fanotify_init", "quotactl", "quotactl_fd", "lookup_dcookie", "syslog", "acct"], EPERM)
        }
        return rules
    }

    /// What a container's `security.syscalls.*` keys ask for (LXD's keys).
    struct Settings: Sendable, Equatable {
        /// `security.syscalls.deny_default` (default true): the default rules.
        var denyDefault = true
        /// `security.syscalls.deny_compat` (default false): no i386 table, the whole i386 ABI gets ENOSYS.
        var denyCompat = false
        /// `security.syscalls.deny`: more syscalls that get EPERM.
        var deny: [String] = []
        /// `security.syscalls.allow`: an allowlist (only these, and `launchSyscalls`, are allowed; the
        /// rest get EPERM). Cannot be combined with `deny`; the default rules then do not apply.
        var allow: [String]?
        var privileged = true

        /// The settings in a container's expanded configuration.
        /// - Throws: `.invalid` when both lists are set, or for a bad value (checked again here: the
        ///   keys may have been set by an earlier sysbox).
        init(config: [String: String]) throws {
            func flag(_ key: String, _ fallback: Bool) throws -> Bool {
                guard let value = config[key] else { return fallback }
                do { return try Values.bool(value) } catch { throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(key): \(error.message)") }
            }
            func names(_ key: String) throws -> [String]? {
                guard let value = config[key] else { return nil }
                do { return try SeccompPolicy.names(value) } catch { throw SysboxError.invalid("invalid value for \(key): \(error.message)") }
            }
            privileged = try flag("security.privileged", InstanceConfig.defaultValue("security.privileged") == "true")
            denyDefault = try flag("security.syscalls.deny_default", true)
            denyCompat = try flag("security.syscalls.deny_compat", false)
            deny = try names("security.syscalls.deny") ?? []
            allow = try names("security.syscalls.allow")
            if allow != nil && !deny.isEmpty {
                throw SysboxError.invalid(
                    "security.syscalls.allow (an allowlist) cannot be combined with security.syscalls.deny; unset one of them")
            }
        }

        init() {}
    }

    /// What sysbox itself calls between loading the filter and the command's exec (the rest of the
    /// exec helper, the trampoline, the failure report): always allowed in allowlist mode, so the
    /// container can start at all.
    static let launchSyscalls = [
        "chdir", "close", "close_range", "dup2", "dup3", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fcntl",
        "fork", "getcwd", "ioctl", "kill", "memfd_create", "newfstatat", "prctl", "restart_syscall", "rt_sigprocmask", "rt_sigreturn",
        "rt_sigtimedwait", "setgroups", "setresgid", "setresuid", "setsid", "stat", "wait4", "write"
    ]

    /// The rules, the errno of what no rule matches (0: allowed) and the build flags of `settings`.
    static func plan(_ settings: Settings) -> (rules: [Rule], defaultErrno: Int32, flags: Int32) {
        let flags = settings.denyCompat ? Int32(SYSBOX_SECCOMP_DENY_I386) : 0
        if let allow = settings.allow {
            let names = (allow + launchSyscalls).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            return (names.map { Rule(syscall: $0, errno: 0) }, EPERM, flags)
        }
        // A syscall the user denies is denied whole, with EPERM (replacing a default rule for it).
        let deny = settings.deny.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        let defaults = settings.denyDefault ? defaultRules(privileged: settings.privileged) : []
        let rules = defaults.filter { !deny.contains($0.syscall) } + deny.map { Rule(syscall: $0, errno: EPERM) }
        return (rules, 0, flags)
    }

    /// The filter of a container with this configuration, as BPF bytes (see `compile`).
    static func filter(config: [String: String]) throws -> [UInt8] {
        let p = plan(try Settings(config: config))
        return try compile(p.rules, defaultErrno: p.defaultErrno, flags: p.flags)
    }

    /// A list of syscall names as the keys take it: separated by commas, spaces or line breaks; each
    /// one known to libseccomp (on x86_64 or i386), else refused with the closest known name.
    static func names(_ value: String) throws(ValueError) -> [String] {
        let names = value.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        if names.isEmpty { throw ValueError("expected syscall names separated by commas or spaces (e.g. keyctl, bpf)") }
        for name in names where syscallNumber(name, arch: .x86_64) == nil && syscallNumber(name, arch: .i386) == nil {
            let hint = Suggest.closest(to: name, in: knownSyscalls).map { "; did you mean \($0)?" } ?? ""
            throw ValueError("unknown syscall \(Names.quote(name))\(hint)")
        }
        return names
    }

    /// Every syscall name libseccomp knows on x86_64 and i386 (for suggestions).
    static let knownSyscalls: [String] = {
        var names = Set<String>()
        var buffer = [CChar](repeating: 0, count: 64)
        for arch in Arch.allCases {
            for number in 0..<1024 where sysbox_seccomp_syscall_name(Int32(number), arch.bit, &buffer, buffer.count) == 1 {
                names.insert(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
        }
        return names.sorted()
    }()

    /// Builds the BPF program of `rules` with libseccomp (`sysbox_seccomp_build`: what no rule matches
    /// is allowed, or gets `defaultErrno`; x86_64 and i386 each with their own numbers, x32 and other
    /// architectures ENOSYS; `flags` SYSBOX_SECCOMP_DENY_I386: the whole i386 ABI ENOSYS). A rule with
    /// errno 0 allows.
    /// - Throws: `.invalid` for a syscall name libseccomp does not know, `.io` for other failures.
    static func compile(_ rules: [Rule], defaultErrno: Int32 = 0, flags: Int32 = 0) throws -> [UInt8] {
        let c = CStrings()
        let cRules = rules.map { rule in
            let conditions = rule.conditions.map {
                sysbox_seccomp_cond(arg: $0.argument, masked: $0.mask == nil ? 0 : 1, mask: $0.mask ?? 0, value: $0.value)
            }
            return sysbox_seccomp_rule(
                name: UnsafePointer(c.string(rule.syscall)), err: rule.errno, arches: rule.arches.reduce(0) { $0 | $1.bit },
                conds: UnsafePointer(c.buffer(conditions)), cond_count: Int32(conditions.count))
        }
        var out = [UInt8](repeating: 0, count: Int(SYSBOX_SECCOMP_MAX_INSNS) * 8)
        let n = cRules.withUnsafeBufferPointer { sysbox_seccomp_build($0.baseAddress, Int32($0.count), defaultErrno, flags, &out, out.count) }
        if n == -ENOENT {
            let unknown = rules.first { syscallNumber($0.syscall, arch: .x86_64) == nil && syscallNumber($0.syscall, arch: .i386) == nil }
            throw SysboxError.invalid("unknown syscall \(unknown?.syscall ?? "name") in the seccomp policy")
        }
        if n == -E2BIG { throw SysboxError.invalid("the seccomp filter would be longer than \(SYSBOX_SECCOMP_MAX_INSNS) instructions; list fewer syscalls") }
        guard n > 0 else { throw SysboxError(.io, "cannot build the seccomp filter (libseccomp): \(Host.errnoText(-n))") }
        return Array(out.prefix(Int(n)))
    }

    /// The number of `name` on `arch` in libseccomp's tables; nil when unknown there.
    static func syscallNumber(_ name: String, arch: Arch) -> Int32? {
        let n = sysbox_seccomp_syscall(name, arch.bit)
        return n >= 0 ? n : nil
    }

    /// Writes the filter where init and both exec paths read it (`containers/NAME/seccomp.bpf`, 0600).
    /// A temporary file (O_EXCL, never through a symlink) renamed over it: readers see a whole filter.
    static func write(_ filter: [UInt8], to path: String) throws {
        let tmp = path + ".tmp-\(getpid())"
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw SysboxError(.io, "cannot write \(tmp): \(Host.errnoText(errno))") }
        var done = 0
        var failure: Int32 = 0
        while done < filter.count && failure == 0 {
            let n = filter.withUnsafeBytes { raw in Glibc.write(fd, raw.baseAddress.map { $0 + done }, filter.count - done) }
            if n > 0 { done += n } else if n < 0 && errno != EINTR { failure = errno } else if n == 0 { failure = EIO }
        }
        close(fd)
        if failure == 0 && rename(tmp, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(tmp)
            throw SysboxError(.io, "cannot write \(path): \(Host.errnoText(failure))")
        }
    }

    /// The filter at `path` (`sysbox_seccomp_read`: whole instructions, at most
    /// SYSBOX_SECCOMP_MAX_INSNS); nil when missing or malformed.
    static func read(_ path: String) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: Int(SYSBOX_SECCOMP_MAX_INSNS) * 8)
        let n = sysbox_seccomp_read(path, &out, out.count)
        return n > 0 ? Array(out.prefix(Int(n))) : nil
    }
}
