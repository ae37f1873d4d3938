import Foundation

/// `linux.sysctl.*`: sysctls of the container's own namespaces, written inside them at start.
public enum Sysctls {
    /// The namespaced sysctls: the network namespace's (net.*), the IPC namespace's (kernel.shm*,
    /// kernel.msg*, kernel.sem, fs.mqueue.*) and the UTS namespace's (kernel.domainname; the hostname is
    /// the container's name, which its init sets from /etc/hostname). Anything else is the host's,
    /// shared by every container.
    static let exact: Set<String> = [
        "kernel.shmmax", "kernel.shmall", "kernel.shmmni", "kernel.shm_rmid_forced", "kernel.msgmax", "kernel.msgmnb",
        "kernel.msgmni", "kernel.sem", "kernel.domainname"
    ]
    static let prefixes = ["net.", "fs.mqueue."]

    /// What is wrong with `linux.sysctl.NAME`, or nil.
    static func problem(name: String) -> String? {
        guard !name.isEmpty else { return "the key needs a sysctl name, e.g. linux.sysctl.net.ipv4.ip_forward" }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.contains(where: { $0.isEmpty || $0 == ".." || $0.contains("/") }) {
            return "\(Names.quote(name)) is not a sysctl name (dot-separated, like net.ipv4.ip_forward)"
        }
        if name == "kernel.hostname" {
            return "the hostname is the container's name (written to its /etc/hostname at each start, which its init applies); rename the container instead"
        }
        if exact.contains(name) || prefixes.contains(where: { name.hasPrefix($0) }) { return nil }
        return
            "\(name) is not namespaced (it is the host's, shared by every container); sysbox sets only namespaced sysctls: net.*, kernel.shmmax/shmall/shmmni/shm_rmid_forced, kernel.msgmax/msgmnb/msgmni, kernel.sem, fs.mqueue.*, kernel.domainname"
    }

    /// A value: one line, not empty.
    static func checkValue(_ v: String) throws(ValueError) {
        if v.isEmpty { throw ValueError("a sysctl value cannot be empty; unset the key instead") }
        if v.contains(where: \.isNewline) || v.contains("\0") { throw ValueError("a sysctl value is one line") }
    }

    /// The `linux.sysctl.*` keys of a config as (path under /proc/sys, value), sorted by name.
    static func settings(_ config: [String: String]) -> [(name: String, path: String, value: String)] {
        config.sorted { $0.key < $1.key }.compactMap { key, value in
            guard key.hasPrefix("linux.sysctl.") else { return nil }
            let name = String(key.dropFirst("linux.sysctl.".count))
            // The database is checked on the way in; a key edited behind sysbox's back is skipped
            // (never a path outside the container's namespaced sysctls).
            guard problem(name: name) == nil else { return nil }
            return (name, "proc/sys/" + name.replacingOccurrences(of: ".", with: "/"), value)
        }
    }

    /// The message of a sysctl the child could not write at start: the cause by errno and the
    /// `linux.sysctl.*` keys the plan holds, with the fix.
    static func failure(_ failure: ChildFailure, plan: StartPlan?) -> SysboxError {
        let keys = (plan?.mounts ?? []).filter { $0.kind == .sysctl }.map {
            "linux.sysctl." + $0.target.dropFirst("proc/sys/".count).replacingOccurrences(of: "/", with: ".") + "=" + ($0.content ?? "")
        }
        let cause =
            switch failure.errno {
            case ENOENT: "one of them does not exist in the container's namespaces (a missing interface or kernel module?)"
            case EINVAL, ERANGE: "the kernel refused one of the values"
            case EPERM, EACCES: "the kernel does not let the container's root write one of them"
            default: "one of them could not be written"
            }
        let name = plan?.name ?? "NAME"
        return SysboxError(.io, "\(failure.description): \(cause) (\(keys.joined(separator: ", "))); fix or unset it: sysbox config unset \(name) KEY")
    }
}
