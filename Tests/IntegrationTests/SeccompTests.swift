import Foundation
import Testing

/// The default seccomp policy, seen from inside a busybox container: init and every exec'd process
/// (both exec paths, and a non-root user) run under the filter without no_new_privs, and a static probe
/// makes each denied call through the x86_64 ABI and through `int $0x80` (i386, its own numbers: a
/// filter without the architecture check lets those through) and gets the policy's errno.
@Suite(.serialized) struct SeccompTests {
    init() throws {
        try #require(getuid() == 0, "the seccomp tests boot real containers and must run as root")
    }

    /// ABI, name, errno the policy returns (0: allowed). Arguments are harmless: without the filter
    /// each either fails with another errno or succeeds, so a missing filter fails this test.
    static let expected: [(String, String, Int32)] = [
        ("x86_64", "kexec_load", ENOSYS), ("x86_64", "kexec_file_load", ENOSYS), ("x86_64", "init_module", ENOSYS),
        ("x86_64", "finit_module", ENOSYS), ("x86_64", "delete_module", ENOSYS), ("x86_64", "keyctl", ENOSYS),
        ("x86_64", "add_key", ENOSYS), ("x86_64", "request_key", ENOSYS), ("x86_64", "open_by_handle_at", EPERM),
        ("x86_64", "userfaultfd", EPERM), ("x86_64", "umount2_force", EPERM), ("x86_64", "umount2", ENOENT),
        ("x86_64", "socket_audit", EAFNOSUPPORT), ("x86_64", "socket_route", 0), ("x86_64", "iopl", EPERM),
        ("x86_64", "ioperm", EPERM), ("x86_64", "swapon", EPERM), ("x86_64", "swapoff", EPERM), ("x86_64", "bpf", EPERM),
        ("x86_64", "perf_event_open", EPERM), ("x86_64", "fanotify_init", EPERM), ("x86_64", "quotactl", EPERM),
        ("x86_64", "quotactl_fd", EPERM), ("x86_64", "lookup_dcookie", EPERM), ("x86_64", "syslog", EPERM),
        ("x86_64", "acct", EPERM), ("x86_64", "getpid", 0), ("x86_64", "getcpu", 0), ("x86_64", "x32_getpid", ENOSYS),
        ("i386", "kexec_load", ENOSYS), ("i386", "init_module", ENOSYS), ("i386", "finit_module", ENOSYS),
        ("i386", "delete_module", ENOSYS), ("i386", "keyctl", ENOSYS), ("i386", "add_key", ENOSYS),
        ("i386", "request_key", ENOSYS), ("i386", "open_by_handle_at", EPERM), ("i386", "userfaultfd", EPERM),
        ("i386", "umount2_force", EPERM), ("i386", "iopl", EPERM), ("i386", "ioperm", EPERM), ("i386", "swapon", EPERM),
        ("i386", "swapoff", EPERM), ("i386", "bpf", EPERM), ("i386", "perf_event_open", EPERM),
        ("i386", "fanotify_init", EPERM), ("i386", "quotactl", EPERM), ("i386", "quotactl_fd", EPERM),
        ("i386", "lookup_dcookie", EPERM), ("i386", "syslog", EPERM), ("i386", "acct", EPERM), ("i386", "getpid", 0),
        ("i386", "getcpu", 0)
    ]

    /// The probe: raw syscalls (no libc wrapper), "ABI NAME ERRNO" a line. Numbers from the kernel's
    /// arch/x86/entry/syscalls tables (asm/unistd_64.h and unistd_32.h).
    static let probe = """
        #include <stdio.h>
        static long sys64(long nr, long a, long b, long c, long d, long e) {
            long r;
            register long r10 __asm__("r10") = d;
            register long r8 __asm__("r8") = e;
            __asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8) : "rcx", "r11", "memory");
            return r;
        }
        static long sys32(long nr, long a, long b, long c, long d, long e) {
            long r;
            __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e) : "memory");
            return (int)r;
        }
        static void report(const char *abi, const char *name, long r) { printf("%s %s %ld\\n", abi, name, r < 0 && r > -4096 ? -r : 0); }
        static const char missing[] = "/sysbox-seccomp-probe-missing";  /* below 4 GiB: a static non-PIE binary */
        int main(void) {
        #define T64(name, nr, a, b, c, d, e) report("x86_64", name, sys64(nr, a, b, c, d, e))
        #define T32(name, nr, a, b, c, d, e) report("i386", name, sys32(nr, a, b, c, d, e))
            long m = (long)missing;
            T64("kexec_load", 246, 0, 0, 0, 0xdead0000, 0);
            T64("kexec_file_load", 320, -1, -1, 0, 0, 0);
            T64("init_module", 175, 0, 0, 0, 0, 0);
            T64("finit_module", 313, -1, 0, 0, 0, 0);
            T64("delete_module", 176, 0, 0, 0, 0, 0);
            T64("keyctl", 250, 0, -3, 0, 0, 0);
            T64("add_key", 248, 0, 0, 0, 0, 0);
            T64("request_key", 249, 0, 0, 0, 0, 0);
            T64("open_by_handle_at", 304, -1, 0, 0, 0, 0);
            T64("userfaultfd", 323, 0, 0, 0, 0, 0);
            T64("umount2_force", 166, m, 1, 0, 0, 0);
            T64("umount2", 166, m, 0, 0, 0, 0);
            T64("socket_audit", 41, 16, 3, 9, 0, 0);
            T64("socket_route", 41, 16, 3, 0, 0, 0);
            T64("iopl", 172, 0, 0, 0, 0, 0);
            T64("ioperm", 173, 0, 0, 0, 0, 0);
            T64("swapon", 167, 0, 0, 0, 0, 0);
            T64("swapoff", 168, 0, 0, 0, 0, 0);
            T64("bpf", 321, -1, 0, 0, 0, 0);
            T64("perf_event_open", 298, 0, 0, -1, -1, 0);
            T64("fanotify_init", 300, 0, 0, 0, 0, 0);
            T64("quotactl", 179, 0, 0, 0, 0, 0);
            T64("quotactl_fd", 443, -1, 0, 0, 0, 0);
            T64("lookup_dcookie", 212, 0, 0, 0, 0, 0);
            T64("syslog", 103, 10, 0, 0, 0, 0);
            T64("acct", 163, m, 0, 0, 0, 0);
            T64("getpid", 39, 0, 0, 0, 0, 0);
            T64("getcpu", 309, 0, 0, 0, 0, 0);
            T64("x32_getpid", 0x40000000 | 39, 0, 0, 0, 0, 0);
            T32("kexec_load", 283, 0, 0, 0, 0xdead0000, 0);
            T32("init_module", 128, 0, 0, 0, 0, 0);
            T32("finit_module", 350, -1, 0, 0, 0, 0);
            T32("delete_module", 129, 0, 0, 0, 0, 0);
            T32("keyctl", 288, 0, -3, 0, 0, 0);
            T32("add_key", 286, 0, 0, 0, 0, 0);
            T32("request_key", 287, 0, 0, 0, 0, 0);
            T32("open_by_handle_at", 342, -1, 0, 0, 0, 0);
            T32("userfaultfd", 374, 0, 0, 0, 0, 0);
            T32("umount2_force", 52, m, 1, 0, 0, 0);
            T32("iopl", 110, 0, 0, 0, 0, 0);
            T32("ioperm", 101, 0, 0, 0, 0, 0);
            T32("swapon", 87, 0, 0, 0, 0, 0);
            T32("swapoff", 115, 0, 0, 0, 0, 0);
            T32("bpf", 357, -1, 0, 0, 0, 0);
            T32("perf_event_open", 336, 0, 0, -1, -1, 0);
            T32("fanotify_init", 338, 0, 0, 0, 0, 0);
            T32("quotactl", 131, 0, 0, 0, 0, 0);
            T32("quotactl_fd", 443, -1, 0, 0, 0, 0);
            T32("lookup_dcookie", 253, 0, 0, 0, 0, 0);
            T32("syslog", 103, 10, 0, 0, 0, 0);
            T32("acct", 51, m, 0, 0, 0, 0);
            T32("getpid", 20, 0, 0, 0, 0, 0);
            T32("getcpu", 318, 0, 0, 0, 0, 0);
            return 0;
        }
        """

    /// The `Seccomp:` and `NoNewPrivs:` fields of a /proc status text.
    static func fields(_ status: String) -> (seccomp: String?, noNewPrivs: String?) {
        func field(_ name: String) -> String? {
            status.split(separator: "\n").first { $0.hasPrefix(name + ":") }.map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        return (field("Seccomp"), field("NoNewPrivs"))
    }

    @Test func everyProcessRunsUnderTheFilter() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "f1"])
        // init, an exec on the fast path, one on the Swift path, a non-root user's (loaded before the
        // user switch), and an interactive one (a pty): filter mode 2, no no_new_privs.
        let runs: [(String, [String], [String: String])] = [
            ("init", ["exec", "f1", "--", "cat", "/proc/1/status"], [:]),
            ("fast path", ["exec", "f1", "--", "cat", "/proc/self/status"], [:]),
            ("Swift path", ["exec", "f1", "--", "cat", "/proc/self/status"], ["SYSBOX_NO_FAST_EXEC": "1"]),
            ("--user 1000", ["exec", "--user", "1000", "f1", "--", "cat", "/proc/self/status"], [:])
        ]
        for (what, args, env) in runs {
            let status = try s.ok(args, env: env)
            let f = Self.fields(status)
            #expect(f.seccomp == "2", "\(what): \(status)")
            #expect(f.noNewPrivs == "0", "\(what): \(status)")
        }
        let t = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) exec f1 -- grep -E 'Seccomp|NoNewPrivs' /proc/self/status", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir])
        #expect(t.stdout.contains("Seccomp:\t2") && t.stdout.contains("NoNewPrivs:\t0"), "pty: \(t.stdout)")
        // A process the container forks inherits it; the filter file is the container's own.
        #expect(Self.fields(try s.ok(["exec", "f1", "--", "sh", "-c", "cat /proc/$$/status"])).seccomp == "2")
        var st = stat()
        #expect(stat(s.stateDir + "/containers/f1/seccomp.bpf", &st) == 0 && st.st_mode & 0o777 == 0o600)
        try s.ok(["delete", "--force", "f1"])
        #expect(s.leftovers() == [])
    }

    @Test func deniedCallsThroughEveryABI() throws {
        let s = try Sandbox.withoutNIC()
        let binary = try probeBinary(s)
        try s.ok(["launch", "busybox", "p1", "-c", "security.privileged=true"])
        try s.ok(["file", "push", binary, "p1/probe", "--mode", "0755"])
        let expected = Self.expected.map { "\($0.0) \($0.1) \($0.2)" }
        for env in [[:], ["SYSBOX_NO_FAST_EXEC": "1"]] {
            let out = try s.ok(["exec", "p1", "--", "/probe"], env: env)
            let lines = out.split(separator: "\n").map(String.init)
            #expect(lines.count == expected.count, "\(out)")
            for line in expected { #expect(lines.contains(line), "expected \(line) (\(env)); got:\n\(out)") }
        }
        try s.ok(["delete", "--force", "p1"])
        #expect(s.leftovers() == [])
    }

    /// An unprivileged container gets the rules for both modes (the module, kexec and
    /// open_by_handle_at rules, x32), but its own keyrings (per user namespace; systemd uses them).
    @Test func unprivilegedPolicy() throws {
        let s = try Sandbox.withoutNIC()
        let binary = try probeBinary(s)
        try s.ok(["launch", "busybox", "q1", "-c", "security.privileged=false"])
        try s.ok(["file", "push", binary, "q1/probe", "--mode", "0755"])
        let r = try probe(s, "q1")
        let common = [
            "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "open_by_handle_at", "userfaultfd",
            "umount2_force", "socket_audit", "x32_getpid", "getpid"
        ]
        for (abi, name, errno) in Self.expected where common.contains(name) {
            #expect(r["\(abi) \(name)"] == errno, "\(abi) \(name): \(r["\(abi) \(name)"] ?? -1)")
        }
        #expect(r["x86_64 keyctl"] == 0 && r["i386 keyctl"] == 0, "\(r)")
        #expect(try s.ok(["exec", "q1", "--", "grep", "Seccomp:", "/proc/1/status"]).contains("2"))
        try s.ok(["delete", "--force", "q1"])
        #expect(s.leftovers() == [])
    }

    /// The probe compiled into the sandbox, pushed into a stopped or running container.
    func probeBinary(_ s: Sandbox) throws -> String {
        let source = try s.write("probe.c", Self.probe)
        let binary = s.root + "/probe"
        let cc = try runProcess("/usr/bin/cc", ["-static", "-O1", "-o", binary, source])
        try #require(cc.status == 0, "cc: \(cc.stderr)")
        return binary
    }

    /// The probe's result for each "ABI NAME".
    func probe(_ s: Sandbox, _ name: String) throws -> [String: Int32] {
        var out: [String: Int32] = [:]
        for line in try s.ok(["exec", name, "--", "/probe"]).split(separator: "\n") {
            let f = line.split(separator: " ")
            if f.count == 3, let e = Int32(f[2]) { out["\(f[0]) \(f[1])"] = e }
        }
        return out
    }

    /// security.syscalls.*: the filter built at start follows them (LXD's keys).
    @Test func configKeysChangeThePolicy() throws {
        let s = try Sandbox.withoutNIC()
        let binary = try probeBinary(s)
        // Unknown names are refused with a suggestion, and change nothing.
        try s.ok(["create", "busybox", "k1", "-c", "security.privileged=true"])
        try s.fails(["config", "set", "k1", "security.syscalls.deny", "getcpu kexec_lod"], "did you mean kexec_load?")
        // Without the default list, with getcpu denied instead (getpid would stop busybox's init); the
        // whole i386 ABI denied.
        try s.ok(["config", "set", "k1", "security.syscalls.deny_default", "false"])
        try s.ok(["config", "set", "k1", "security.syscalls.deny", "getcpu"])
        try s.ok(["config", "set", "k1", "security.syscalls.deny_compat", "true"])
        try s.ok(["file", "push", binary, "k1/probe", "--mode", "0755"])
        try s.ok(["start", "k1"])
        var r = try probe(s, "k1")
        #expect(r["x86_64 getcpu"] == EPERM && r["x86_64 getpid"] == 0 && r["x86_64 keyctl"] == 0 && r["x86_64 syslog"] == 0, "\(r)")
        for (key, value) in r where key.hasPrefix("i386 ") { #expect(value == ENOSYS, "\(key) \(value)") }
        #expect(r.count == Self.expected.count)
        // Back to the defaults at the next start; allow and deny together refuse the start.
        try s.ok(["config", "unset", "k1", "security.syscalls.deny_default"])
        try s.ok(["config", "unset", "k1", "security.syscalls.deny_compat"])
        try s.ok(["config", "set", "k1", "security.syscalls.allow", "read"])
        try s.ok(["stop", "-f", "k1"])
        try s.fails(["start", "k1"], "security.syscalls.allow (an allowlist) cannot be combined with security.syscalls.deny")
        try s.ok(["config", "unset", "k1", "security.syscalls.allow"])
        try s.ok(["config", "unset", "k1", "security.syscalls.deny"])
        try s.ok(["start", "k1"])
        r = try probe(s, "k1")
        for (abi, name, errno) in Self.expected { #expect(r["\(abi) \(name)"] == errno, "\(abi) \(name): \(r["\(abi) \(name)"] ?? -1)") }
        // An allowlist: everything in the x86_64 table but syslog and acct; keyctl, allowed by it,
        // works although the default list denies it; what the list lacks gets EPERM.
        let header = try String(contentsOfFile: "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", encoding: .utf8)
        var names = header.split(separator: "\n").compactMap { line -> String? in
            let f = line.split(separator: " ")
            guard f.count == 3, f[0] == "#define", f[1].hasPrefix("__NR_") else { return nil }
            return String(f[1].dropFirst(5))
        }.filter { $0 != "syslog" && $0 != "acct" }
        // Names libseccomp 2.5 does not know yet are refused: drop them (the message names them).
        var tries = 0
        while tries < 50 {
            let set = try s.run(["config", "set", "k1", "security.syscalls.allow", names.joined(separator: ",")])
            if set.ok { break }
            // "…: unknown syscall "NAME"": the last quoted word.
            guard let unknown = set.stderr.split(separator: "\"").dropLast().last.map(String.init), names.contains(unknown) else {
                Issue.record("config set security.syscalls.allow: \(set.stderr)")
                break
            }
            names.removeAll { $0 == unknown }
            tries += 1
        }
        try s.ok(["restart", "-f", "k1"])
        r = try probe(s, "k1")
        #expect(r["x86_64 syslog"] == EPERM && r["x86_64 acct"] == EPERM && r["x86_64 keyctl"] == 0 && r["x86_64 getpid"] == 0, "\(r)")
        try s.ok(["delete", "--force", "k1"])
        #expect(s.leftovers() == [])
    }
}
