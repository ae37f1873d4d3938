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

/// The one rule per format (issue 14, finding 13) and `TableFit` (finding 20).
@Suite struct FormatRuleTests {
    @Test func sizesAndTimesFollowTheFormat() throws {
        let date = Date(timeIntervalSince1970: 1_796_283_900.75)  // 2026-12-03 07:45:00.75 UTC
        let cells: [[TableCell]] = [[.bytes(1_982_910), .time(date), .time(nil)]]
        let csv = try OutputFormat(parsing: "csv,noheader").render(headers: ["A", "B", "C"], cells: cells, objects: [String](), width: nil)
        #expect(csv == "1982910,2026-12-03T07:45:00Z,\n")
        let table = try OutputFormat(parsing: "table,noheader").render(headers: ["A", "B", "C"], cells: cells, objects: [String](), width: nil)
        #expect(table.contains("| 1.9MiB | 2026/12/03 07:45 UTC |   |"), "\(table)")
        #expect(MachineTime.string(date) == "2026-12-03T07:45:00Z")
    }

    @Test func tableFitCutsThenDropsAndNeverCutsWholeColumns() {
        let fit = TableFit(cuttable: [0: 12], dropOrder: [4, 3, 2, 1])
        let headers = ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"]
        let rows = [["t1", "RUNNING", "10.0.5.2 (eth0)", "busybox", "0"]]
        let narrow = TextTable.render(headers: headers, rows: rows, maxWidth: 40, fit: fit)
        #expect(narrow.split(separator: "\n").allSatisfy { $0.count <= 40 }, "\(narrow)")
        #expect(narrow.contains("| t1   | RUNNING | 10.0.5.2 (eth0) |") && !narrow.contains("IMAGE"), "\(narrow)")
        // A long name is cut (to 12 at least) before any column is left out.
        let long = [["a-container-with-a-long-name", "STOPPED", "", "busybox", "0"]]
        let cut = TextTable.render(headers: headers, rows: long, maxWidth: 60, fit: fit)
        #expect(cut.contains("SNAPSHOTS") && cut.contains("…") && cut.split(separator: "\n").allSatisfy { $0.count <= 60 }, "\(cut)")
        // Too narrow for anything: printed wider rather than cutting what must stay whole.
        let tiny = TextTable.render(headers: headers, rows: rows, maxWidth: 10, fit: fit)
        #expect(tiny.contains("| t1   |") && !tiny.contains("STATUS"), "\(tiny)")
    }
}
