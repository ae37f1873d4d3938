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

    /// Regular expressions, LXD's way: a bare filter is a name prefix or a regex over the whole name
    /// (unless it holds ^ or $); a KEY=VALUE value with regex syntax matches the whole value.
    @Test func regexFilters() throws {
        let s = try Sandbox.withoutNIC()
        for (name, role) in [("web01", "frontend"), ("web02", "front-canary"), ("db01", "database"), ("xweb9", "frontend")] {
            try s.ok(["create", "busybox", name, "-c", "user.role=\(role)"])
        }
        func names(_ filters: String...) throws -> String {
            try s.ok(["list", "-c", "n", "--format", "csv,noheader"] + filters).split(separator: "\n").joined(separator: " ")
        }
        #expect(try names("web") == "web01 web02")
        #expect(try names("web.*1") == "web01")
        #expect(try names(".*web.*") == "web01 web02 xweb9")
        #expect(try names("eb") == "")  // a plain word is a prefix, not a substring
        #expect(try names("01$") == "db01 web01")
        #expect(try names("user.role=front.*") == "web01 web02 xweb9")
        #expect(try names("user.role=front") == "")
        #expect(try names("user.role=front.*", "web") == "web01 web02")
        #expect(try names("name=(db|web)01") == "db01 web01")
        try s.fails(["list", "web["], "filter \"web[\": \"web[\" is not a valid regular expression")
        try s.fails(["list", "user.role=(x"], "filter user.role: \"(x\" is not a valid regular expression")
        try s.ok(["delete", "web01", "web02", "db01", "xweb9"])
    }

    /// `list -c` takes LXD's column letters for the table and csv, in the order given; the cgroup
    /// columns show a running container's figures; an unknown letter is one line naming the letters.
    @Test func chosenColumns() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "r1"])
        try s.ok(["create", "busybox", "s1", "--description", "the second, stopped"])
        let csv = try s.ok(["list", "-c", "ndtPp", "--format", "csv"])
        let pid = try #require(try s.ok(["list", "r1", "--format", "json"]).split(separator: "\"pid\":").dropFirst().first?.prefix { $0.isNumber })
        #expect(csv == "NAME,DESCRIPTION,TYPE,PROFILES,PID\nr1,,CONTAINER,default,\(pid)\ns1,\"the second, stopped\",CONTAINER,default,\n", "\(csv)")
        let usage = try s.ok(["list", "r1", "-c", "nNm", "--format", "csv,noheader"]).split(separator: ",")
        #expect(usage.count == 3 && usage[0] == "r1" && (Int(usage[1]) ?? 0) >= 1 && (Int(usage[2].dropLast()) ?? 0) > 0, "\(usage)")
        #expect(try s.ok(["list", "-c", "sn", "--format", "csv,noheader"]) == "RUNNING,r1\nSTOPPED,s1\n")
        // The table: the chosen headers; narrow, the rightmost columns go first, NAME stays.
        #expect(try s.ok(["list", "-c", "ns6"]).contains("| NAME | STATUS  | IPV6 |"))
        let narrow = try s.run(["list", "-c", "nsdP"], env: ["COLUMNS": "30"])
        #expect(narrow.stdout.contains("| NAME | STATUS  |") && !narrow.stdout.contains("PROFILES"), "\(narrow.stdout)")
        try s.fails(["list", "-c", "nsx"], "unknown column \"x\" in --columns; use: n name, s status, 4 ipv4")
        try s.ok(["delete", "--force", "r1", "s1"])
        #expect(s.leftovers() == [])
    }
}
