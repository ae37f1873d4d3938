import Foundation
import Testing
@testable import SysboxCore

/// Control characters in keys, paths and descriptions.
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
        #expect(
            message { try Devices.validate(name: "data", ["type": "disk", "path": "/data", "source": "/srv", "read\tonly": "1"]) }
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
        #expect(
            message { _ = try ProfileYAML.parse("config: {}\ndescription: \"a\\tb\"\n", file: "p.yaml") }
                .hasPrefix("p.yaml:2: the description contains the control character \\x09"))
        #expect(message { _ = try ProfileYAML.parse("description: |\n  one\n  two\n", file: "p.yaml") }.hasPrefix("p.yaml:1:"))
    }

    @Test func quotingShowsEveryControlCharacter() {
        #expect(Names.quote("a\u{1b}b\u{85}c\u{7f}\u{2028}") == "\"a\\x1bb\\x85c\\x7f\\u{2028}\"")
        #expect(TerminalText.escaped("x\ny\tz", keepNewlines: true) == "x\ny\\x09z")
        #expect(TerminalText.escaped("ünïcode", keepNewlines: false) == "ünïcode")
    }
}
