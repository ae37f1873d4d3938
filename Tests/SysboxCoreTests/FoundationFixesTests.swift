import Foundation
import Testing
@testable import SysboxCore

/// The message of the `SysboxError` that `body` throws (a failure when it throws none).
private func message(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch let error as SysboxError {
        #expect(!error.message.contains("\n"), "not one line: \(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.contains("?;"), "doubled punctuation: \(error.message)", sourceLocation: sourceLocation)
        #expect(!error.message.unicodeScalars.contains { Names.isControl($0) }, "raw control character: \(error.message)",
                sourceLocation: sourceLocation)
        return error.message
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
    return ""
}

/// The message of the `ValueError` that `body` throws.
private func valueMessage(_ body: () throws(ValueError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do {
        try body()
        Issue.record("no error was thrown", sourceLocation: sourceLocation)
    } catch {
        return error.message
    }
    return ""
}

/// 1. Deleting several profiles is all or nothing.
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
        #expect(message { try f.manager.deleteProfiles(["a", "small"]) }
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
        #expect(message { try f.manager.deleteProfile("small") }
            == "profile small is used by 2 containers: c1, c2; remove it from each first, e.g. sysbox profile remove c1 small")
    }
}

/// 2. `snapshots.schedule` entries are separated by ", " only.
@Suite struct ScheduleSeparatorTests {
    @Test func commasInsideFieldsAreLists() throws {
        let halfHourly = try CronSchedule.parse("0,30 * * * *")
        #expect(halfHourly.entries.count == 1 && halfHourly.entries[0].minutes == [0, 30])
        let twiceAWeek = try CronSchedule.parse("0 3 * * 1,5")
        #expect(twiceAWeek.entries.count == 1 && twiceAWeek.entries[0].daysOfWeek == [1, 5])
        let several = try CronSchedule.parse("@daily, @hourly, 0,30 9 * * mon,fri")
        #expect(several.entries.count == 3)
        #expect(several.entries[2].minutes == [0, 30] && several.entries[2].daysOfWeek == [1, 5])
        try InstanceConfig.validate("snapshots.schedule", "0,30 * * * *")
        try InstanceConfig.validate("snapshots.schedule", "0 3 * * 1,5")
        try InstanceConfig.validate("snapshots.schedule", "@daily, @hourly")
    }

    @Test(arguments: [" @daily", "@daily ", "@daily,@hourly", "@daily,  @hourly", "@daily, ", "0 3 * * *,@daily", ", @daily"])
    func refused(_ text: String) {
        #expect(throws: ValueError.self) { try CronSchedule.parse(text) }
        #expect(message { try InstanceConfig.validate("snapshots.schedule", text) }.contains("snapshots.schedule"))
    }
}

/// 3. `list` filters compare typed values.
@Suite struct TypedFilterTests {
    @Test func booleansIntegersSizesAndDefaults() throws {
        for actual in [nil, "false", "Off", "0", "no", "FALSE"] {
            #expect(InstanceConfig.filterMatches("security.nesting", wanted: "false", actual: actual), "\(actual ?? "unset")")
            #expect(!InstanceConfig.filterMatches("security.nesting", wanted: "true", actual: actual), "\(actual ?? "unset")")
        }
        #expect(InstanceConfig.filterMatches("security.nesting", wanted: "yes", actual: "on"))
        #expect(InstanceConfig.filterMatches("limits.processes", wanted: "500", actual: "0500"))
        #expect(!InstanceConfig.filterMatches("limits.processes", wanted: "50", actual: "500"))
        #expect(InstanceConfig.filterMatches("boot.autostart.priority", wanted: "0", actual: nil))  // the default
        #expect(InstanceConfig.filterMatches("limits.memory", wanted: "1GiB", actual: "1024MiB"))
        #expect(InstanceConfig.filterMatches("limits.cpu", wanted: "0-1", actual: "0,1"))
        #expect(!InstanceConfig.filterMatches("limits.memory", wanted: "1GiB", actual: nil))
        #expect(InstanceConfig.filterMatches("limits.memory", wanted: "", actual: nil))
        #expect(InstanceConfig.filterMatches("user.role", wanted: "web", actual: "web"))
        #expect(!InstanceConfig.filterMatches("user.role", wanted: "Web", actual: "web"))
    }

    @Test func filterValuesAreChecked() throws {
        try InstanceConfig.validateFilter("security.nesting", "Off")
        try InstanceConfig.validateFilter("limits.memory", "")
        try InstanceConfig.validateFilter("user.anything", "x y")
        #expect(message { try InstanceConfig.validateFilter("security.nesting", "maybe") }.contains("expected true or false"))
        #expect(message { try InstanceConfig.validateFilter("limits.memroy", "1") }
            == "unknown filter key limits.memroy; did you mean limits.memory? Use status, image, profile, name or a config key")
        #expect(message { try InstanceConfig.validateFilter("bogus", "1") }
            == "unknown filter key bogus; use status, image, profile, name or a config key")
    }
}

/// 4. Values that only looked valid.
@Suite struct StricterValueTests {
    @Test(arguments: [
        ("limits.processes", "+5", "digits only"), ("boot.stop.priority", "+1", "digits only"),
        ("limits.processes", "5000000", "out of range"), ("limits.processes", "99999999999999999999", "out of range"),
        ("boot.autostart.priority", "-2000000", "out of range"),
        ("limits.memory", "1048576.5", "whole number of bytes"), ("limits.memory", "1.0000001MiB", "whole number of bytes"),
        ("limits.memory", "2097152.5B", "whole number of bytes"), ("limits.memory", "99999999999EiB", "out of range"),
        ("snapshots.expiry", "1001y", "out of range"), ("snapshots.expiry", "99999999999999999999M", "out of range"),
        ("snapshots.expiry", "12001m", "out of range"), ("snapshots.expiry", "52179w", "out of range"),
        ("limits.processes", " 5", "spaces"), ("limits.processes", "5 ", "spaces"), ("security.nesting", "true\n", "spaces"),
        ("limits.memory", "\t1GiB", "spaces"), ("snapshots.pattern", " snap%d", "spaces"),
        ("security.nesting", "maybe", "expected true or false (also yes/no, on/off, 1/0)"),
    ])
    func refused(_ key: String, _ value: String, _ reason: String) {
        let text = message { try InstanceConfig.validate(key, value) }
        #expect(text.contains(key) && text.contains(reason), "\(text) should mention \(reason)")
    }

    @Test func exactSizesAndLimitsStillPass() throws {
        #expect(try Values.bytes("1.5GiB") == 3 << 29)
        #expect(try Values.bytes("0.5KiB") == 512)
        #expect(try Values.bytes("1.5GB") == 1_500_000_000)
        #expect(try Values.bytes("2.000MiB") == 2 << 20)
        #expect(try Values.bytes("15EiB") == 15 << 60)
        #expect(try Values.integer("-5") == -5)
        try InstanceConfig.validate("snapshots.expiry", "1000y")
        try InstanceConfig.validate("snapshots.expiry", "12000m 52178w 365250d 8766000H 525960000M")
        try InstanceConfig.validate("user.note", "  spaced  ")
        try InstanceConfig.validate("environment.PAD", " x ")
        #expect(valueMessage { () throws(ValueError) in _ = try Values.integer("3", in: 1...2) } == "3 is out of range; expected an integer from 1 to 2")
    }
}

/// 5. Control characters in keys, paths and descriptions.
@Suite struct ControlCharacterTests {
    @Test(arguments: ["user.a b", "user.a\u{1b}[31m", "user.x\n", "limits.cpu\u{7}", "user.\u{85}x", "user.\u{2028}", " user.x"])
    func keysAreRefusedAndQuoted(_ key: String) {
        let text = message { try InstanceConfig.validate(key, "v") }
        #expect(text.hasPrefix("invalid config key \""), "\(text)")
        let unset = message { try InstanceConfig.validateUnset(key) }
        #expect(unset.hasPrefix("invalid config key \""), "\(unset)")
    }

    @Test func environmentKeysAndDevicePaths() {
        #expect(message { try InstanceConfig.validate("environment.A\tB", "v") }.contains("\\x09"))
        for (key, value) in [("path", "/data\nx"), ("source", "/srv/\u{1b}[2J"), ("path", "/a\u{0}b"), ("source", "/srv/\u{9b}x")] {
            var device = ["type": "disk", "path": "/data", "source": "/srv/data"]
            device[key] = value
            let text = message { try Devices.validate(name: "data", device) }
            #expect(text.contains("control characters"), "\(text)")
        }
        #expect(message { try Devices.validate(name: "data", ["type": "disk", "path": "/data", "source": "/srv", "read\tonly": "1"]) }
            .contains("unknown key \"read\\x09only\""))
    }

    @Test func descriptions() throws {
        let f = try ManagerFixture()
        for bad in ["two\nlines", "tab\there", "bell\u{7}", "esc\u{1b}[31m", "c1\u{85}", "sep\u{2028}"] {
            #expect(message { try f.manager.createProfile("p", ProfileDocument(description: bad)) }.contains("invalid description for profile p"))
            #expect(message { try f.manager.setProfileDescription("small", bad) }.contains("invalid description for profile small"))
            #expect(message { try f.manager.updateProfile("small", ProfileDocument(description: bad)) }.contains("control character"))
            #expect(message { try Names.validateDescription(bad, of: "container web1") }.hasPrefix("invalid description for container web1"))
        }
        try f.manager.createProfile("p", ProfileDocument(description: "Plain: one line, with ünïcode"))
        #expect(message { _ = try ProfileYAML.parse("config: {}\ndescription: \"a\\tb\"\n", file: "p.yaml") }
            .hasPrefix("p.yaml:2: the description contains the control character \\x09"))
        #expect(message { _ = try ProfileYAML.parse("description: |\n  one\n  two\n", file: "p.yaml") }.hasPrefix("p.yaml:1:"))
    }

    @Test func quotingShowsEveryControlCharacter() {
        #expect(Names.quote("a\u{1b}b\u{85}c\u{7f}\u{2028}") == "\"a\\x1bb\\x85c\\x7f\\u{2028}\"")
        #expect(TerminalText.escaped("x\ny\tz", keepNewlines: true) == "x\ny\\x09z")
        #expect(TerminalText.escaped("ünïcode", keepNewlines: false) == "ünïcode")
    }
}

/// 6. CSV keeps free text whole; tables never print raw control characters.
@Suite struct FreeTextOutputTests {
    @Test func csvJoinsOnlyLists() throws {
        let csv = try OutputFormat(parsing: "csv")
        let text = try csv.render(headers: ["NAME", "DESCRIPTION", "IPV4"],
                                  cells: [[.text("p1"), .text("line one\nline two, with \"quotes\""), .list(["10.0.3.2", "10.0.3.3"])]],
                                  objects: [String](), width: nil)
        #expect(text == "NAME,DESCRIPTION,IPV4\np1,\"line one\nline two, with \"\"quotes\"\"\",\"10.0.3.2,10.0.3.3\"\n")
    }

    @Test func tablesEscapeControlCharacters() throws {
        let table = try OutputFormat(parsing: "table")
        let text = try table.render(headers: ["NAME", "DESCRIPTION"], cells: [[.text("p1"), .text("red\u{1b}[31m\tbell\u{7}")]],
                                    objects: [String](), width: nil)
        #expect(!text.unicodeScalars.contains { Names.isControl($0) && $0 != "\n" }, "\(text)")
        #expect(text.contains("red\\x1b[31m\\x09bell\\x07"))
        let lines = text.split(separator: "\n")
        #expect(Set(lines.map(\.count)).count == 1, "rows must align:\n\(text)")
    }
}

/// 7. A name given twice in one command.
@Suite struct GivenTwiceTests {
    @Test func keysAndDevices() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "web1", image: "busybox", config: ["user.x": "1"]))
        try f.manager.overrideDevice(container: "web1", name: "eth0", [])
        try f.manager.createProfile("p", ProfileDocument(devices: ["data": ["type": "disk", "path": "/d", "source": "/s", "readonly": "true"]]))
        let before = try f.dump()
        #expect(message { try f.manager.unsetConfig(.container("web1"), ["user.x", "user.x"]) } == "key user.x is given twice; list each key once")
        #expect(message { try f.manager.setConfig(.container("web1"), [("user.y", "1"), ("user.y", "2")]) }.contains("given twice"))
        #expect(message { try f.manager.removeDevices(.container("web1"), names: ["eth0", "eth0"]) }
            == "device eth0 is given twice; list each device once")
        #expect(message { try f.manager.setDevice(.profile("p"), name: "data", [("readonly", "1"), ("readonly", "0")]) }.contains("given twice"))
        #expect(message { try f.manager.unsetDevice(.profile("p"), name: "data", keys: ["readonly", "readonly"]) }.contains("given twice"))
        #expect(try f.dump() == before)
    }
}

/// 8. Error wording: one clean sentence, real names.
@Suite struct WordingTests {
    @Test func suggestionsEndTheirSentence() {
        #expect(message { _ = try OutputFormat(parsing: "jsn") }
            == "unknown format \"jsn\"; did you mean json? Use table, json, yaml or csv (table and csv take ,noheader)")
        #expect(message { _ = try OutputFormat(parsing: "xml") } == "unknown format \"xml\"; use table, json, yaml or csv (table and csv take ,noheader)")
        #expect(message { _ = try OutputFormat(parsing: "jsn,noheader") }.contains("did you mean json? Use"))
        #expect(message { _ = try OutputFormat(parsing: "json,noheader") }.contains("only table and csv take it"))
        #expect(message { try Devices.validate(name: "eth0", ["type": "nick", "network": "n"]) }
            == "device eth0 has unknown type \"nick\"; did you mean nic? Types: nic, disk, none")
        #expect(message { try Devices.validate(name: "eth0", ["type": "nic", "network": "n", "netwrok": "m"]) }
            == "device eth0 (nic) has unknown key netwrok; did you mean network? Known keys: hwaddr, ipv4.address, name, network")
        #expect(message { try Devices.validate(name: "x", ["type": "none", "path": "/"]) } == "device x (none) has unknown key path; it takes no keys")
        #expect(message { _ = try ProfileYAML.parse("confg: {}\n", file: "p.yaml") }
            == "p.yaml:1: unknown top-level key confg; did you mean config? A profile has only description, config and devices")
    }

    @Test func placeholdersAreFilled() throws {
        let noRoot = message { try Devices.validateSet([:], requireRoot: true) }
        #expect(noRoot.contains("no root disk") && !noRoot.contains("NAME"))
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "web1", image: "busybox"))
        try f.manager.addDevice(.container("web1"), name: "data", ["type": "disk", "path": "/d", "source": "/tmp"])
        #expect(message { try f.manager.addDevice(.container("web1"), name: "data", ["type": "none"]) }
            .contains("sysbox config device set web1 data KEY=VALUE, or remove it first: sysbox config device remove web1 data"))
        #expect(message { try f.manager.setDevice(.profile("small"), name: "nope", [("a", "b")]) }
            == "device nope not found on profile small; sysbox profile device list small shows its devices")
        #expect(message { try f.manager.overrideDevice(container: "web1", name: "eth9", []) }.contains("it inherits: eth0, root"))
    }
}

/// 13. Device-set errors in a profile file point at the device that causes them.
@Suite struct DeviceSetLineTests {
    @Test(arguments: [
        ("description: x\ndevices:\n  root:\n    type: disk\n    path: /\n  r2:\n    type: disk\n    path: /\n", "p.yaml:6: devices r2 and root are both root disks"),
        ("devices:\n  eth0:\n    type: nic\n    network: n\n  lan:\n    type: nic\n    network: n\n    name: eth0\n", "p.yaml:5: devices eth0 and lan both create interface eth0"),
        ("devices:\n  a:\n    type: disk\n    source: /x\n    path: /d\n  b:\n    type: disk\n    source: /y\n    path: /d/\n", "p.yaml:6: devices a and b are both mounted at /d"),
    ])
    func pointsAtTheOffendingDevice(_ text: String, _ expected: String) {
        #expect(message { _ = try ProfileYAML.parse(text, file: "p.yaml") }.hasPrefix(expected))
    }
}

/// 14. An empty document is not an empty profile.
@Suite struct EmptyDocumentTests {
    @Test func emptyMeansNoDocument() {
        for empty in ["", "\n\n", "# only a comment\n", "---\n", "  \n# x\n"] { #expect(ProfileYAML.isEmptyDocument(empty), "\(empty)") }
        for full in ["config: {}\n", "description: \"\"\n", "{}\n", "config: [\n"] { #expect(!ProfileYAML.isEmptyDocument(full), "\(full)") }
    }
}
