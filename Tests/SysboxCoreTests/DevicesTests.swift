import SysboxStore
import Testing
@testable import SysboxCore

@Suite struct DevicesTests {
    @Test func validDevices() throws {
        try Devices.validate(name: "eth0", ["type": "nic", "network": "sysboxbr0"])
        try Devices.validate(name: "eth1", ["type": "nic", "network": "br1", "name": "lan", "hwaddr": "00:16:3e:01:02:03", "ipv4.address": "10.0.3.9"])
        try Devices.validate(name: "root", ["type": "disk", "path": "/"])
        try Devices.validate(name: "data", ["type": "disk", "path": "/data", "source": "/srv/data", "readonly": "true"])
        try Devices.validate(name: "eth0", ["type": "none"])
    }

    @Test(arguments: [
        (["network": "x"], "has no type"),
        (["type": "nick", "network": "x"], "did you mean nic?"),
        (["type": "nic"], "needs network"),
        (["type": "nic", "network": "x", "netwrok": "y"], "unknown key netwrok; did you mean network?"),
        (["type": "nic", "network": "x", "hwaddr": "zz"], "MAC"),
        (["type": "nic", "network": "x", "ipv4.address": "10.0.0"], "IPv4"),
        (["type": "disk", "path": "data", "source": "/s"], "absolute"),
        (["type": "disk", "path": "/", "source": "/s"], "root disk"),
        (["type": "disk", "path": "/data"], "needs source"),
        (["type": "disk", "path": "/d", "source": "/s", "readonly": "sometimes"], "true or false"),
        (["type": "none", "path": "/"], "takes no keys")
    ])
    func invalidDevices(_ config: [String: String], _ reason: String) {
        do {
            try Devices.validate(name: "dev", config)
            Issue.record("accepted \(config)")
        } catch let error as SysboxError {
            #expect(error.message.contains("dev"))
            #expect(error.message.contains(reason), "\(error.message) should mention \(reason)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func setRules() throws {
        let root: [String: String] = ["type": "disk", "path": "/"]
        try Devices.validateSet(["root": root], requireRoot: true)
        try Devices.validateSet([:], requireRoot: false)
        #expect(throws: SysboxError.self) { try Devices.validateSet([:], requireRoot: true) }
        #expect(throws: SysboxError.self) { try Devices.validateSet(["a": root, "b": root], requireRoot: false) }
        #expect(throws: SysboxError.self) {
            try Devices.validateSet(["a": ["type": "disk", "path": "/d", "source": "/x"], "b": ["type": "disk", "path": "/d/", "source": "/y"]], requireRoot: false)
        }
        #expect(throws: SysboxError.self) {
            try Devices.validateSet(["eth0": ["type": "nic", "network": "n"], "lan": ["type": "nic", "network": "n", "name": "eth0"]], requireRoot: false)
        }
        // A masked device is not a root disk.
        #expect(throws: SysboxError.self) { try Devices.validateSet(["root": ["type": "none"]], requireRoot: true) }
    }
}

@Suite struct ExpansionTests {
    @Test func laterProfilesWinAndLocalWinsOverAll() {
        let a = ConfigLayer(
            config: ["limits.cpu": "1", "limits.memory": "1GiB", "user.a": "a"],
            devices: ["root": ["type": "disk", "path": "/"], "eth0": ["type": "nic", "network": "n1", "hwaddr": "00:16:3e:00:00:01"]])
        let b = ConfigLayer(config: ["limits.cpu": "2", "user.b": "b"], devices: ["eth0": ["type": "nic", "network": "n2"]])
        let local = ConfigLayer(config: ["limits.cpu": "3"], devices: ["data": ["type": "disk", "path": "/d", "source": "/s"]])
        let result = Expansion.expand(profiles: [a, b], local: local)
        #expect(result.config == ["limits.cpu": "3", "limits.memory": "1GiB", "user.a": "a", "user.b": "b"])
        // The device of the later profile replaces the earlier one whole (no hwaddr merged in).
        #expect(result.devices["eth0"] == ["type": "nic", "network": "n2"])
        #expect(result.devices.keys.sorted() == ["data", "eth0", "root"])
        let swapped = Expansion.expand(profiles: [b, a], local: ConfigLayer())
        #expect(swapped.config["limits.cpu"] == "1")
        #expect(swapped.devices["eth0"]?["network"] == "n1")
    }

    @Test func noneMasksAnInheritedDevice() {
        let p = ConfigLayer(devices: ["eth0": ["type": "nic", "network": "n"]])
        let result = Expansion.expand(profiles: [p], local: ConfigLayer(devices: ["eth0": ["type": "none"]]))
        #expect(result.devices["eth0"] == ["type": "none"])
    }
}
