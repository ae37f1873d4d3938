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
        #expect(try SeccompPolicy.filter(config: [:]) == filter)
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
