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

/// `image alias list` and `image alias rename` (LXD's commands).
@Suite struct ImageAliasCLITests {
    @Test func listAndRename() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["image", "build", "busybox"])
        try s.ok(["image", "alias", "create", "mybox", "busybox"])
        let fingerprint = try s.ok(["image", "list", "--format", "csv,noheader"]).split(separator: ",")[0]
        #expect(try s.ok(["image", "alias", "list", "--format", "csv,noheader"]).contains("mybox,\(fingerprint),"))
        try s.fails(["image", "alias", "rename", "mybox", "busybox"], "image alias busybox already exists")
        #expect(try s.ok(["image", "alias", "rename", "mybox", "tinybox"]) == "Alias mybox renamed to tinybox\n")
        let list = try s.ok(["image", "alias", "list", "--format", "csv,noheader"])
        #expect(list.contains("tinybox,\(fingerprint),") && !list.contains("mybox,"), "\(list)")
        try s.fails(["image", "alias", "rename", "nosuch", "x"], "image alias nosuch not found")
        try s.ok(["launch", "tinybox", "t1"])
        try s.ok(["delete", "--force", "t1"])
        #expect(s.leftovers() == [])
    }
}
