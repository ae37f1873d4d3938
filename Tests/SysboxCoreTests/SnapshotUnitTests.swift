import Foundation
import Testing
@testable import SysboxCore

@Suite struct SnapshotUnitTests {
    @Test func defaultNamesGoOnFromTheHighestNumber() {
        func next(_ pattern: String, _ existing: [String]) -> String { Snapshots.nextSnapshotName(pattern: pattern, existing: Set(existing)) }
        #expect(next("snap%d", []) == "snap0")
        #expect(next("snap%d", ["snap0", "snap1"]) == "snap2")
        // A gap is not filled (LXD): snap1 was deleted, the next is snap5.
        #expect(next("snap%d", ["snap0", "snap4"]) == "snap5")
        // Names the pattern does not make are ignored.
        #expect(next("snap%d", ["snapx", "snap", "other7", "snap-3", "nightly"]) == "snap0")
        #expect(next("snap%d", ["snap99999999999999999999999"]) == "snap0")
        #expect(next("%d-before", ["3-before", "10-before", "7-after"]) == "11-before")
        // Without %d: the name itself, then NAME-0, NAME-1 …
        #expect(next("daily", []) == "daily")
        #expect(next("daily", ["daily"]) == "daily-0")
        #expect(next("daily", ["daily", "daily-0", "daily-4"]) == "daily-5")
        // A pattern from before %d was limited to one: each %d gets the number, never a taken name.
        #expect(next("s%d-%d", []) == "s0-0")
        #expect(next("s%d-%d", ["s0-0", "s1-1"]) == "s2-2")
    }

    @Test func negativeExpiryIsExplained() throws {
        #expect(throws: ValueError.self) { try Values.expiry("-1d") }
        do {
            _ = try Values.expiry("1w -2d")
            Issue.record("a negative part was accepted")
        } catch {
            #expect(error.message.contains("-2d is negative; an expiry counts forward from now"), "\(error.message)")
        }
        #expect(throws: SysboxError.self) { try Snapshots.expiryDate("-1d") }
        #expect(throws: ValueError.self) { try Values.snapshotPattern("s%d-%d") }
        try Values.snapshotPattern("snap%d")
        try Values.snapshotPattern("daily")
    }

    @Test func pruneLinesMatchSnapshotDelete() {
        #expect(PrunedSnapshot(container: "c1", snapshot: "gone", reason: .expired).line == "Snapshot gone of c1 deleted (expired)")
        #expect(PrunedSnapshot(container: "c1", snapshot: "snap0", reason: .retention(keep: 2)).line == "Snapshot snap0 of c1 deleted (snapshots.keep.last=2)")
    }
}
