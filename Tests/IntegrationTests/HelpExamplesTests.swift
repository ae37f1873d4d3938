import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The examples in the help.
@Suite struct HelpExamplesTests {
    /// Every example in the help of these commands works as written, in order, on a fresh state
    /// directory (where the examples' container web1 exists), and no discussion line is wrapped early.
    @Test(arguments: [
        [], ["list"], ["config"], ["config", "show"], ["config", "get"], ["config", "set"], ["config", "unset"],
        ["config", "device"], ["config", "device", "add"], ["config", "device", "remove"], ["config", "device", "list"],
        ["config", "device", "show"], ["config", "device", "get"], ["config", "device", "set"], ["config", "device", "unset"],
        ["config", "device", "override"], ["config", "edit"], ["profile"], ["profile", "list"], ["profile", "show"], ["profile", "create"],
        ["profile", "edit"], ["profile", "delete"], ["profile", "copy"], ["profile", "rename"], ["profile", "get"],
        ["profile", "set"], ["profile", "unset"], ["profile", "add"], ["profile", "remove"], ["profile", "assign"],
        ["profile", "device"], ["profile", "device", "add"], ["profile", "device", "remove"], ["profile", "device", "list"],
        ["profile", "device", "show"], ["profile", "device", "get"], ["profile", "device", "set"], ["profile", "device", "unset"],
        ["version"], ["image", "alias"]
    ])
    func helpExamplesWork(_ verb: [String]) throws {
        let s = try Sandbox()
        let help = try s.ok(["help"] + verb)
        let discussion = help.components(separatedBy: "\nUSAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        var examples: [String] = []
        var paragraph: [Substring] = []
        for line in discussion + [""] {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("sysbox ") { examples.append(trimmed) }
            if line.isEmpty || line.hasPrefix(" ") {
                // ArgumentParser wraps at 80 columns: only a paragraph's last line may be short.
                for early in paragraph.dropLast() where early.count < 60 {
                    Issue.record("sysbox help \(verb.joined(separator: " ")): line broken early: \"\(early)\"")
                }
                paragraph = []
            } else {
                paragraph.append(line)
            }
        }
        #expect(!examples.isEmpty, "no examples in sysbox help \(verb.joined(separator: " "))")
        let binDir = URL(fileURLWithPath: s.binary).deletingLastPathComponent().path
        let env = ["SYSBOX_DIR": s.stateDir, "PATH": binDir + ":/usr/bin:/bin", "EDITOR": "true", "VISUAL": "", "SHELL": "/bin/sh"]
        if !examples.contains(where: { $0.hasPrefix("sysbox create busybox web1 ") }) {
            try s.ok(["create", "busybox", "web1"])
        }
        for example in examples {
            // script(1) gives each example a terminal, as a person typing it has (profile edit opens $EDITOR).
            let r = try runProcess("/usr/bin/script", ["-qec", example, "/dev/null"], env: env, cwd: s.root)
            #expect(r.status == 0, "sysbox help \(verb.joined(separator: " ")): \(example) failed: \(r.stdout)")
        }
    }
}
