import CSysbox
import Foundation
import Testing

@testable import SysboxCore

@Suite struct SeccompPolicyTests {
    @Test func everyNameResolvesOnBothArchitectures() throws {
        for privileged in [true, false] {
            for rule in SeccompPolicy.defaultRules(privileged: privileged) {
                for arch in rule.arches {
                    let number = SeccompPolicy.syscallNumber(rule.syscall, arch: arch)
                    if arch == .i386 && SeccompPolicy.notOnEveryArch.contains(rule.syscall) {
                        #expect(number == nil, "\(rule.syscall) on \(arch)")
                    } else {
                        #expect(number != nil, "\(rule.syscall) does not resolve on \(arch)")
                    }
                }
            }
        }
        // The numbers differ per architecture (what the architecture check is for).
        #expect(SeccompPolicy.syscallNumber("keyctl", arch: .x86_64) == 250)
        #expect(SeccompPolicy.syscallNumber("keyctl", arch: .i386) == 288)
        #expect(SeccompPolicy.syscallNumber("open_by_handle_at", arch: .i386) == 342)
        #expect(SeccompPolicy.syscallNumber("no_such_call", arch: .x86_64) == nil)
    }

    @Test func theDefaultListCoversLXCAndTheReference() {
        let privileged = Dictionary(SeccompPolicy.defaultRules(privileged: true).map { ($0.syscall, $0) }) { a, _ in a }
        for name in ["kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module"] { #expect(privileged[name]?.errno == ENOSYS, "\(name)") }
        for name in ["keyctl", "add_key", "request_key"] { #expect(privileged[name]?.errno == ENOSYS, "\(name)") }
        for name in [
            "open_by_handle_at", "bpf", "perf_event_open", "fanotify_init", "quotactl", "quotactl_fd", "lookup_dcookie", "syslog", "acct",
            "userfaultfd", "iopl", "ioperm", "swapon", "swapoff"
        ] {
            #expect(privileged[name]?.errno == EPERM, "\(name)")
        }
        #expect(privileged["umount2"]?.conditions == [SeccompPolicy.Condition(argument: 1, mask: 1, value: 1)])
        #expect(privileged["socket"]?.errno == EAFNOSUPPORT)
        // Unprivileged containers keep their own keyrings (systemd uses them).
        let unprivileged = Set(SeccompPolicy.defaultRules(privileged: false).map(\.syscall))
        #expect(!unprivileged.contains("keyctl") && unprivileged.contains("open_by_handle_at"))
    }

    @Test func compilesToWholeInstructionsAndRefusesUnknownNames() throws {
        let filter = try SeccompPolicy.compile(SeccompPolicy.defaultRules(privileged: true))
        #expect(!filter.isEmpty && filter.count % 8 == 0 && filter.count <= 4096 * 8)
        #expect(try SeccompPolicy.filter(config: ["security.privileged": "true"]) == filter)
        // Unset: unprivileged (the default), a filter of its own.
        let unprivileged = try SeccompPolicy.compile(SeccompPolicy.defaultRules(privileged: false))
        #expect(try SeccompPolicy.filter(config: [:]) == unprivileged && unprivileged != filter)
        #expect(throws: SysboxError.self) { try SeccompPolicy.compile([SeccompPolicy.Rule(syscall: "no_such_call", errno: EPERM)]) }
        let dir = NSTemporaryDirectory() + "sysbox-seccomp-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SeccompPolicy.write(filter, to: dir + "/seccomp.bpf")
        #expect(SeccompPolicy.read(dir + "/seccomp.bpf") == filter)
        try "1234567".write(toFile: dir + "/bad", atomically: false, encoding: .utf8)
        #expect(SeccompPolicy.read(dir + "/bad") == nil)
        #expect(SeccompPolicy.read(dir + "/missing") == nil)
    }
}

@Suite struct SeccompConfigTests {
    typealias Settings = SeccompPolicy.Settings

    @Test func defaultsAndLists() throws {
        let none = try Settings(config: [:])
        #expect(none.denyDefault && !none.denyCompat && none.deny.isEmpty && none.allow == nil)
        let p = SeccompPolicy.plan(none)
        #expect(p.rules == SeccompPolicy.defaultRules(privileged: false) && p.defaultErrno == 0 && p.flags == 0)
        #expect(SeccompPolicy.plan(try Settings(config: ["security.privileged": "true"])).rules == SeccompPolicy.defaultRules(privileged: true))
        // Extra denials (commas, spaces or line breaks), EPERM; a default rule for the same syscall is
        // replaced (keyctl: EPERM now), a conditional one too (umount2: denied whole).
        let more = try Settings(config: ["security.syscalls.deny": "getpid, keyctl umount2\nkeyctl"])
        #expect(more.deny == ["getpid", "keyctl", "umount2", "keyctl"])
        let rules = SeccompPolicy.plan(more).rules
        #expect(rules.filter { $0.syscall == "keyctl" } == [SeccompPolicy.Rule(syscall: "keyctl", errno: EPERM)])
        #expect(rules.filter { $0.syscall == "umount2" } == [SeccompPolicy.Rule(syscall: "umount2", errno: EPERM)])
        #expect(rules.contains(SeccompPolicy.Rule(syscall: "getpid", errno: EPERM)))
        _ = try SeccompPolicy.compile(rules)
        // Without the default list: only what is asked.
        let only = SeccompPolicy.plan(try Settings(config: ["security.syscalls.deny_default": "false", "security.syscalls.deny": "bpf"]))
        #expect(only.rules == [SeccompPolicy.Rule(syscall: "bpf", errno: EPERM)])
        #expect(SeccompPolicy.plan(try Settings(config: ["security.syscalls.deny_default": "off"])).rules.isEmpty)
        // deny_compat: no i386 table.
        #expect(SeccompPolicy.plan(try Settings(config: ["security.syscalls.deny_compat": "true"])).flags == Int32(SYSBOX_SECCOMP_DENY_I386))
    }

    @Test func allowlist() throws {
        let p = SeccompPolicy.plan(try Settings(config: ["security.syscalls.allow": "read write openat"]))
        #expect(p.defaultErrno == EPERM)
        #expect(p.rules.allSatisfy { $0.errno == 0 })
        let names = p.rules.map(\.syscall)
        #expect(names.prefix(3) == ["read", "write", "openat"] && names.count == Set(names).count)
        for name in SeccompPolicy.launchSyscalls { #expect(names.contains(name), "\(name)") }
        _ = try SeccompPolicy.compile(p.rules, defaultErrno: p.defaultErrno)
        #expect(throws: SysboxError.self) { try Settings(config: ["security.syscalls.allow": "read", "security.syscalls.deny": "bpf"]) }
    }

    @Test func unknownNamesAreRefusedWithASuggestion() throws {
        try InstanceConfig.validate("security.syscalls.deny", "keyctl, bpf")
        try InstanceConfig.validate("security.syscalls.allow", "socketcall")  // i386 only: known
        let refused = thrownMessage { try InstanceConfig.validate("security.syscalls.deny", "keyctl, kexec_lod") }
        #expect(refused.contains("unknown syscall") && refused.contains("kexec_lod") && refused.contains("did you mean kexec_load?"), "\(refused)")
        #expect(thrownMessage { try InstanceConfig.validate("security.syscalls.deny", ",") }.contains("expected syscall names"))
        #expect(thrownMessage { try InstanceConfig.validate("security.syscalls.deny_compat", "maybe") }.contains("expected true or false"))
        #expect(InstanceConfig.defaultValue("security.syscalls.deny_default") == "true")
        #expect(InstanceConfig.defaultValue("security.syscalls.deny_compat") == "false")
        #expect(SeccompPolicy.knownSyscalls.contains("keyctl") && SeccompPolicy.knownSyscalls.contains("socketcall"))
    }

    func thrownMessage(_ body: () throws -> Void) -> String {
        do {
            try body()
            return "<nothing thrown>"
        } catch let e as SysboxError { return e.message } catch { return "\(error)" }
    }
}
