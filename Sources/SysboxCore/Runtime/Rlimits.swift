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
}
