import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `profile delete` of several profiles is all or nothing.
@Suite struct ProfileDeleteCLITests {
    /// `profile delete a nosuch` deletes nothing.
    @Test func profileDeleteIsAllOrNothing() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "a"])
        try s.ok(["profile", "create", "b"])
        try s.ok(["create", "busybox", "c1", "-p", "default", "-p", "small"])
        let before = try s.dump()
        try s.fails(["profile", "delete", "a", "nosuch"], "profile nosuch not found")
        try s.fails(["profile", "delete", "a", "a"], "profile a is given twice")
        try s.fails(["profile", "delete", "a", "default"], "default profile cannot be deleted")
        try s.fails(["profile", "delete", "a", "small"], "profile small is used by 1 container: c1; remove it from c1 first: sysbox profile remove c1 small")
        #expect(try s.dump() == before)
        #expect(try s.ok(["profile", "delete", "a", "b"]) == "Profile a deleted\nProfile b deleted\n")
    }
}
