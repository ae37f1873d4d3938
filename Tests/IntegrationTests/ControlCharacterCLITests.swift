import Foundation
import GRDB
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Writes straight into a sandbox's database: data an older sysbox (or another tool) may have left,
/// which the current validation would refuse.
private func sql(_ s: Sandbox, _ statement: String, _ arguments: StatementArguments = []) throws {
    let queue = try DatabaseQueue(path: s.dbPath)
    defer { try? queue.close() }
    try queue.write { db in try db.execute(sql: statement, arguments: arguments) }
}

/// Whether `text` has a control character other than a line break.
private func hasRawControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0 != "\n" && ($0.properties.generalCategory == .control || $0 == "\u{2028}") }
}

/// Control characters: refused in keys, paths and descriptions; never printed raw; kept exact in CSV.
@Suite struct ControlCharacterCLITests {
    /// Control characters in keys, paths and descriptions are refused; output never carries them raw.
    @Test func controlCharacters() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        let before = try s.dump()
        try s.fails(["config", "set", "c1", "user.a b=1"], "invalid config key \"user.a b\": it has a space at position 7")
        try s.fails(["config", "set", "c1", "user.\u{1b}[31m=1"], "invalid config key \"user.\\x1b[31m\"")
        try s.fails(["config", "set", "c1", "environment.A\nB=1"], "invalid config key \"environment.A\\x0aB\"")
        try s.fails(["config", "unset", "c1", "user.x\u{7}"], "invalid config key \"user.x\\x07\"")
        try s.fails(["config", "get", "c1", "user.x\u{7}"], "invalid config key \"user.x\\x07\"")
        try s.fails(["list", "user.\u{1b}=1"], "invalid config key \"user.\\x1b\"")
        try s.fails(["config", "device", "add", "c1", "data", "disk", "source=/srv/\u{1b}[2J", "path=/data"], "cannot contain control characters")
        try s.fails(["config", "device", "add", "c1", "data", "disk", "source=/srv", "path=/da\nta"], "cannot contain control characters")
        try s.fails(["profile", "create", "p", "--description", "two\nlines"], "invalid description for profile p: it contains the control character \\x0a at position 4")
        try s.fails(["profile", "create", "p"], "<stdin>:1: the description contains the control character \\x1b", stdin: "description: \"a\\e[31m\"\n")
        try s.fails(["profile", "edit", "small"], "<stdin>:2: the description contains the control character \\x09", stdin: "config: {}\ndescription: \"a\\tb\"\n")
        #expect(try s.dump() == before)

        // Text an older version stored: shown escaped by info and tables, exact in CSV and JSON.
        try sql(s, "UPDATE containers SET description = ? WHERE name = 'c1'", ["red\u{1b}[31m\u{7}"])
        try sql(s, "UPDATE profiles SET description = ? WHERE name = 'small'", ["first\nsecond, \"third\"\u{1b}[0m"])
        let info = try s.ok(["info", "c1"])
        #expect(!hasRawControl(info), "\(info)")
        #expect(info.contains("Description: red\\x1b[31m\\x07"))
        let table = try s.ok(["profile", "list"], env: ["COLUMNS": "200"])
        #expect(!hasRawControl(table), "\(table)")
        #expect(table.contains("| second, \"third\"\\x1b[0m"))
        let json = try s.ok(["profile", "list", "--format", "json"])
        #expect(!hasRawControl(json) && json.contains("\\u001b[0m"))
        let yaml = try s.ok(["profile", "list", "--format", "yaml"])
        #expect(!hasRawControl(yaml), "\(yaml)")
    }

    /// CSV keeps a description whole: a line break stays a quoted line break.
    @Test func csvKeepsFreeText() throws {
        let s = try Sandbox()
        try s.ok(["profile", "list"])
        try sql(s, "UPDATE profiles SET description = ? WHERE name = 'small'", ["one\ntwo, three"])
        let csv = try s.ok(["profile", "list", "--format", "csv,noheader"])
        #expect(csv.contains("small,\"one\ntwo, three\",0\n"), "\(csv)")
        #expect(!csv.contains("one,two"))
    }
}
