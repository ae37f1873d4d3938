import Foundation
import Testing
@testable import SysboxCore

/// A name given twice in one command.
@Suite struct GivenTwiceTests {
    @Test func keysAndDevices() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "web1", image: "busybox", config: ["user.x": "1"]))
        try f.manager.overrideDevice(container: "web1", name: "eth0", [])
        try f.manager.createProfile("p", ProfileDocument(devices: ["data": ["type": "disk", "path": "/d", "source": "/s", "readonly": "true"]]))
        let before = try f.dump()
        #expect(message { try f.manager.unsetConfig(.container("web1"), ["user.x", "user.x"]) } == "key user.x is given twice; list each key once")
        #expect(message { try f.manager.setConfig(.container("web1"), [("user.y", "1"), ("user.y", "2")]) }.contains("given twice"))
        #expect(
            message { try f.manager.removeDevices(.container("web1"), names: ["eth0", "eth0"]) }
                == "device eth0 is given twice; list each device once")
        #expect(message { try f.manager.setDevice(.profile("p"), name: "data", [("readonly", "1"), ("readonly", "0")]) }.contains("given twice"))
        #expect(message { try f.manager.unsetDevice(.profile("p"), name: "data", keys: ["readonly", "readonly"]) }.contains("given twice"))
        #expect(try f.dump() == before)
    }
}
