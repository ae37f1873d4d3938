import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Config values through the CLI: schedules, values that only looked valid, names given twice.
@Suite struct ConfigValueCLITests {
    /// `--property` (LXD's) on get/set/unset: the description of a container, a profile or a network;
    /// any other property is one line naming the one there is, and changes nothing.
    @Test func descriptionProperty() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "c1"])
        try s.ok(["config", "set", "c1", "--property", "description=web server"])
        #expect(try s.ok(["config", "get", "c1", "--property", "description"]) == "web server\n")
        #expect(try s.ok(["list", "-c", "nd", "--format", "csv,noheader"]) == "c1,web server\n")
        #expect(try s.ok(["info", "c1"]).contains("Description: web server"))
        try s.fails(["config", "set", "c1", "--property", "name=c2"], "unknown property \"name\"; the property sysbox has is description")
        try s.fails(["config", "set", "c1", "--property", "description=a\u{1b}b"], "description")
        #expect(try s.ok(["config", "get", "c1", "--property", "description"]) == "web server\n")
        try s.ok(["config", "unset", "c1", "--property", "description"])
        #expect(try s.ok(["config", "get", "c1", "--property", "description"]) == "\n")
        try s.ok(["profile", "set", "default", "--property", "description=the default"])
        #expect(try s.ok(["profile", "get", "default", "--property", "description"]) == "the default\n")
        try s.fails(["profile", "get", "defualt", "--property", "description"], "profile defualt not found; did you mean default?")
        try s.fails(["config", "get", "nope", "--property", "description"], "container nope not found")
        try s.ok(["delete", "c1"])
    }

    /// Schedules with commas inside fields.
    @Test func scheduleCommas() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=0,30 * * * *"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=0 3 * * 1,5"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=@daily, @hourly"])
        try s.fails(["config", "set", "c1", "snapshots.schedule= @daily"], "remove the spaces around it")
        try s.fails(["config", "set", "c1", "snapshots.schedule=@daily,@hourly"], "separate entries with ', '")
        #expect(try s.ok(["config", "get", "c1", "snapshots.schedule"]) == "@daily, @hourly\n")
    }

    /// Values that only looked valid are refused.
    @Test func stricterValues() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        let before = try s.dump()
        try s.fails(["config", "set", "c1", "limits.processes=+5"], "invalid value \"+5\" for limits.processes: expected an integer from 1 to 4194304, written with digits only")
        try s.fails(["config", "set", "c1", "limits.processes=5000000"], "5000000 is out of range")
        try s.fails(["config", "set", "c1", "limits.memory=1048576.5"], "not a whole number of bytes")
        try s.fails(["config", "set", "c1", "limits.memory=1.0000001MiB"], "not a whole number of bytes")
        try s.fails(["config", "set", "c1", "snapshots.expiry=5000y"], "5000y is out of range; at most 1000y")
        try s.fails(["config", "set", "c1", "limits.cpu= 2"], "invalid value \" 2\" for limits.cpu: remove the spaces around it")
        try s.fails(["config", "set", "c1", "security.nesting", "true "], "remove the spaces around it")
        try s.fails(["config", "set", "c1", "security.nesting=maybe"], "expected true or false (also yes/no, on/off, 1/0)")
        try s.fails(["config", "device", "add", "c1", "data", "disk", "source=/srv ", "path=/data"], "remove the spaces around it")
        #expect(try s.dump() == before)
        try s.ok(["config", "set", "c1", "user.note=  padded  ", "limits.memory=1.5GiB"])
        #expect(try s.ok(["config", "get", "c1", "user.note"]) == "  padded  \n")
    }

    /// A name given twice says so.
    @Test func givenTwice() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "web1", "-c", "user.x=1"])
        try s.ok(["config", "device", "override", "web1", "eth0"])
        let before = try s.dump()
        try s.fails(["config", "unset", "web1", "user.x", "user.x"], "key user.x is given twice; list each key once")
        try s.fails(["config", "device", "remove", "web1", "eth0", "eth0"], "device eth0 is given twice; list each device once")
        try s.fails(["config", "set", "web1", "user.y=1", "user.y=2"], "key user.y is given twice")
        #expect(try s.dump() == before)
    }
}
