import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `list` filters: typed values, defaults and statuses.
@Suite struct ListFilterCLITests {
    /// Filters compare typed values and use defaults.
    @Test func typedListFilters() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "unset"])
        try s.ok(["create", "busybox", "off", "-c", "security.nesting=Off"])
        try s.ok(["create", "busybox", "zero", "-c", "security.nesting=0", "-c", "limits.processes=0500"])
        try s.ok(["create", "busybox", "on", "-c", "security.nesting=yes", "-c", "limits.memory=1024MiB"])
        func names(_ filter: String) throws -> [String] {
            try s.ok(["list", filter, "--format", "csv,noheader"]).split(separator: "\n").map { String($0.split(separator: ",")[0]) }
        }
        #expect(try names("security.nesting=false") == ["off", "unset", "zero"])
        #expect(try names("security.nesting=no") == ["off", "unset", "zero"])
        #expect(try names("security.nesting=TRUE") == ["on"])
        #expect(try names("limits.processes=500") == ["zero"])
        #expect(try names("limits.memory=1GiB") == ["on"])
        #expect(try names("limits.memory=") == ["off", "unset", "zero"])
        try s.fails(["list", "security.nesting=maybe"], "invalid filter value \"maybe\" for security.nesting: expected true or false")
        try s.fails(["list", "status=stoped"], "unknown status \"stoped\" in filter status; did you mean stopped? Use running")
        try s.fails(["list", "limits.memroy=1"], "unknown filter key limits.memroy; did you mean limits.memory? Use status")
    }

    /// Every status of a container is a filter, starting and stopping included; an unknown one lists them all.
    @Test func everyStatusFilters() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        for status in ["running", "starting", "stopping", "frozen", "error", "Starting", "STOPPING"] {
            #expect(try s.ok(["list", "status=\(status)", "--format", "csv,noheader"]) == "", "\(status)")
        }
        #expect(try s.ok(["list", "state=stopped", "--format", "csv,noheader"]).hasPrefix("c1,STOPPED,"))
        try s.fails(["list", "status=paused"], "unknown status \"paused\" in filter status; use running, stopped, starting, stopping, frozen or error")
    }
}
