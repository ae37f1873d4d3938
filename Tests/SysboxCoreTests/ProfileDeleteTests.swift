import Foundation
import Testing
@testable import SysboxCore

/// Deleting several profiles is all or nothing.
@Suite struct DeleteProfilesTests {
    @Test func everyNameIsCheckedBeforeAnyIsDeleted() throws {
        let f = try ManagerFixture()
        try f.manager.createProfile("a", ProfileDocument())
        try f.manager.createProfile("b", ProfileDocument())
        try f.manager.createContainer(CreateRequest(name: "c1", image: "busybox", profiles: ["default", "small"]))
        let before = try f.dump()
        #expect(message { try f.manager.deleteProfiles(["a", "nosuch"]) }.contains("profile nosuch not found"))
        #expect(message { try f.manager.deleteProfiles(["a", "a"]) } == "profile a is given twice; list each profile once")
        #expect(message { try f.manager.deleteProfiles(["a", "default"]) }.contains("default profile cannot be deleted"))
        #expect(
            message { try f.manager.deleteProfiles(["a", "small"]) }
                == "profile small is used by 1 container: c1; remove it from c1 first: sysbox profile remove c1 small")
        #expect(message { try f.manager.deleteProfiles(["a", "bad/name"]) }.contains("invalid profile name"))
        #expect(try f.dump() == before)
        try f.manager.deleteProfiles(["a", "b"])
        let names = try f.manager.listProfiles().map(\.name)
        #expect(!names.contains("a") && !names.contains("b") && names.contains("small"))
    }

    @Test func inUseNamesACommandForOneUser() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "c1", image: "busybox", profiles: ["default", "small"]))
        try f.manager.createContainer(CreateRequest(name: "c2", image: "busybox", profiles: ["default", "small"]))
        #expect(
            message { try f.manager.deleteProfile("small") }
                == "profile small is used by 2 containers: c1, c2; remove it from each first, e.g. sysbox profile remove c1 small")
    }
}
