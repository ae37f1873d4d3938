import Foundation
import Testing

/// `sysbox version` and `--version` (issue 14's "expected" list).
@Suite struct VersionCLITests {
    @Test func versionNamesClientAndSchema() throws {
        let s = try Sandbox()
        #expect(try s.ok(["version"]) == "Client version: 0.1.0\nSchema version: 4 (v4-explicit-privileged)\n")
        #expect(try s.ok(["--version"]) == "0.1.0\n")
        // Nothing is created for it.
        #expect(!FileManager.default.fileExists(atPath: s.stateDir))
    }
}
