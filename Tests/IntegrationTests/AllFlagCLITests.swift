import Foundation
import Testing

/// `start/stop/restart --all` (LXD's flag): every stopped (start) or running (stop, restart) container.
@Suite struct AllFlagCLITests {
    @Test func allActsOnEveryContainerOfTheRightState() throws {
        let s = try Sandbox.withoutNIC()
        for name in ["a1", "a2"] { try s.ok(["create", "busybox", name]) }
        let both = try s.run(["start", "a1", "--all"])
        #expect(both.status == 64 && both.stderr.hasPrefix("Error: give container names or --all, not both\nUsage: sysbox start"), "\(both.stderr)")
        try s.ok(["start", "--all"])
        #expect(try s.ok(["list", "--format", "csv,noheader"]).split(separator: "\n").allSatisfy { $0.contains(",RUNNING,") })
        try s.ok(["restart", "--all", "--force"])
        try s.ok(["stop", "--all", "--force"])
        #expect(try s.ok(["list", "--format", "csv,noheader"]).split(separator: "\n").allSatisfy { $0.contains(",STOPPED,") })
        // Nothing in that state: nothing to do, not an error.
        try s.ok(["stop", "--all"])
        try s.ok(["delete", "a1", "a2"])
        #expect(s.leftovers() == [])
    }
}
