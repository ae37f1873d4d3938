import SysboxStore
import Testing
@testable import SysboxCore

@Suite struct PendingChangeTests {
    @Test func whatWaitsForTheNextStart() {
        let disk = ["type": "disk", "path": "/"]
        let base = ConfigLayer(config: ["limits.memory": "1GiB"], devices: ["root": disk])
        #expect(PendingChange.what(before: base, after: base) == [])
        // Live keys, and keys read when used (boot.*, snapshots.*), wait for nothing.
        var live = base
        live.config["limits.memory"] = "2GiB"
        live.config["environment.TZ"] = "UTC"
        live.config["user.role"] = "web"
        live.config["snapshots.expiry"] = "1d"
        live.config["boot.autostart"] = "true"
        #expect(PendingChange.what(before: base, after: live) == [])
        var started = base
        started.devices["data"] = ["type": "disk", "path": "/data", "source": "/srv"]
        started.config["security.syscalls.deny"] = "bpf"
        started.config["security.privileged"] = "true"
        #expect(PendingChange.what(before: base, after: started) == ["devices", "security.privileged", "security.syscalls.deny"])
        #expect(PendingChange.what(before: started, after: base) == ["devices", "security.privileged", "security.syscalls.deny"])
    }

    @Test func noteWording() {
        #expect(PendingChange.note([]) == nil)
        #expect(PendingChange.note([("c1", [])]) == nil)
        #expect(
            PendingChange.note([("c1", ["devices"])]) == "devices are set up at start: c1 gets this change at the next start (sysbox restart c1)")
        #expect(
            PendingChange.note([("c1", ["security.privileged"])])
                == "security.privileged is set up at start: c1 gets this change at the next start (sysbox restart c1)")
        #expect(
            PendingChange.note([("c1", ["devices"]), ("c2", []), ("c3", ["devices", "security.nesting2"])])
                == "devices and security.nesting2 are set up at start: c1, c3 get this change at the next start (sysbox restart c1 c3)")
    }
}
