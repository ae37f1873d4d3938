import Foundation
import Testing
@testable import SysboxCore

/// CSV keeps free text whole; tables never print raw control characters.
@Suite struct FreeTextOutputTests {
    @Test func csvJoinsOnlyLists() throws {
        let csv = try OutputFormat(parsing: "csv")
        let text = try csv.render(
            headers: ["NAME", "DESCRIPTION", "IPV4"],
            cells: [[.text("p1"), .text("line one\nline two, with \"quotes\""), .list(["10.0.3.2", "10.0.3.3"])]],
            objects: [String](), width: nil)
        #expect(text == "NAME,DESCRIPTION,IPV4\np1,\"line one\nline two, with \"\"quotes\"\"\",\"10.0.3.2,10.0.3.3\"\n")
    }

    @Test func tablesEscapeControlCharacters() throws {
        let table = try OutputFormat(parsing: "table")
        let text = try table.render(
            headers: ["NAME", "DESCRIPTION"], cells: [[.text("p1"), .text("red\u{1b}[31m\tbell\u{7}")]],
            objects: [String](), width: nil)
        #expect(!text.unicodeScalars.contains { Names.isControl($0) && $0 != "\n" }, "\(text)")
        #expect(text.contains("red\\x1b[31m\\x09bell\\x07"))
        let lines = text.split(separator: "\n")
        #expect(Set(lines.map(\.count)).count == 1, "rows must align:\n\(text)")
    }
}
