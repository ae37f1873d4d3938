import Foundation

/// `limits.kernel.*`: resource limits (setrlimit(2)) of a container's init and of every exec, by LXD's
/// names. They apply at the next start (init) and at the next exec.
public enum Rlimits {
    /// LXD's names and the RLIMIT_* numbers (asm-generic, x86-64 and arm64 alike).
    public static let resources: [String: Int32] = [
        "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "nproc": 6, "nofile": 7, "memlock": 8, "as": 9,
        "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15
    ]

    /// One limit as the kernel takes it: RLIM_INFINITY (UInt64.max) for unlimited.
    public struct Limit: Codable, Sendable, Equatable {
        public var resource: Int32
        public var soft: UInt64
        public var hard: UInt64
    }

    /// What is wrong with `limits.kernel.NAME`, or nil.
    static func problem(name: String) -> String? {
        if resources[name] != nil { return nil }
        let known = resources.keys.sorted()
        return
            "\(name.isEmpty ? "the key needs a resource name" : "unknown resource \(Names.quote(name))")\(Suggest.hint(name, known, then: "resources: \(known.joined(separator: ", "))"))"
    }

    /// The `limits.kernel.*` keys of an expanded config, sorted by resource number.
    /// - Throws: `SysboxError(.invalidArgument)` for an unknown resource or a bad value.
    public static func limits(_ config: [String: String]) throws -> [Limit] {
        var out: [Limit] = []
        for (key, value) in config where key.hasPrefix("limits.kernel.") {
            let name = String(key.dropFirst("limits.kernel.".count))
            guard let resource = resources[name] else { throw SysboxError.invalid("invalid key \(key): \(problem(name: name) ?? "")") }
            do {
                let (soft, hard) = try Values.rlimit(value)
                out.append(Limit(resource: resource, soft: soft ?? UInt64.max, hard: hard ?? UInt64.max))
            } catch {
                throw SysboxError.invalid("invalid value \(Names.quote(value)) for \(key): \(error.message)", cause: error)
            }
        }
        return out.sorted { $0.resource < $1.resource }
    }

    /// LXD's name of a resource number.
    static func name(of resource: Int32) -> String { resources.first { $0.value == resource }?.key ?? "\(resource)" }

    /// Whether this process may raise hard limits: CAP_SYS_RESOURCE (24) in its effective set
    /// (/proc/self/status CapEff; some sandboxes run root without it).
    static var canRaise: Bool {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16)
        else { return true }
        return mask & (1 << 24) != 0
    }

    /// The lowest `limits.kernel.nofile` soft limit a start accepts.
    static let minimumOpenFiles: UInt64 = 8

    /// Checks, before the clone, that the kernel will take `limits`: a hard limit above this process's
    /// own (which init inherits) needs CAP_SYS_RESOURCE, and `nofile` at most fs.nr_open.
    /// - Throws: `SysboxError(.invalidArgument)` naming the key, the host's limit and the fix.
    static func check(_ limits: [Limit], container name: String) throws {
        func text(_ v: UInt64) -> String { v == UInt64.max ? "unlimited" : String(v) }
        for l in limits {
            let key = "limits.kernel.\(Rlimits.name(of: l.resource))"
            var now = rlimit()
            guard getrlimit(__rlimit_resource_t(UInt32(l.resource)), &now) == 0 else { continue }
            if l.resource == 7, l.hard != UInt64.max,
                let nrOpen = (try? String(contentsOfFile: "/proc/sys/fs/nr_open", encoding: .utf8)).flatMap({ UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) }),
                l.hard > nrOpen
            {
                throw SysboxError.invalid(
                    "\(key): the hard limit \(text(l.hard)) is above the kernel's maximum (fs.nr_open = \(nrOpen)); use at most \(nrOpen): sysbox config set \(name) \(key)=N")
            }
            if l.resource == 7, l.soft < minimumOpenFiles {
                // The exec trampoline and the fds an init or exec needs before its own code runs.
                throw SysboxError.invalid(
                    "\(key): a soft limit of \(l.soft) open files leaves no room for init to start; use at least \(minimumOpenFiles): sysbox config set \(name) \(key)=\(minimumOpenFiles)"
                )
            }
            if l.resource == 7, l.hard == UInt64.max {
                throw SysboxError.invalid("\(key): the kernel takes no unlimited number of open files; give a number (at most fs.nr_open): sysbox config set \(name) \(key)=N")
            }
            if UInt64(now.rlim_max) != UInt64.max, l.hard == UInt64.max || l.hard > UInt64(now.rlim_max), !canRaise {
                throw SysboxError.invalid(
                    "\(key): the hard limit \(text(l.hard)) is above sysbox's own (\(text(UInt64(now.rlim_max))), which init inherits), and raising it needs CAP_SYS_RESOURCE, which sysbox runs without here; use at most \(text(UInt64(now.rlim_max))): sysbox config set \(name) \(key)=N"
                )
            }
        }
    }
}
