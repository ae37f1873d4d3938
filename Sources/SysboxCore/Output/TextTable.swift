import Foundation

/// LXD-style boxed tables (`+----+` borders, one header row), with multi-line cells and an optional
/// width limit: the widest columns are narrowed and their cells cut with `…` until the table fits.
/// Control characters in cells are shown as escapes (`\x1b`), never written raw.
public enum TextTable {
    /// Renders `rows` under `headers`. A `\n` in a cell starts a new line inside the cell. `maxWidth`
    /// nil means no limit; columns never shrink below their header or 4 characters.
    public static func render(headers: [String], rows: [[String]], maxWidth: Int? = nil, showHeader: Bool = true) -> String {
        let columns = headers.count
        let headers = headers.map { TerminalText.escaped($0, keepNewlines: false) }
        let cells: [[[String]]] = rows.map { row in
            (0..<columns).map { i in
                TerminalText.escaped(i < row.count ? row[i] : "", keepNewlines: true)
                    .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
        }
        var widths = headers.map(\.count)
        for row in cells {
            for (i, lines) in row.enumerated() {
                widths[i] = max(widths[i], lines.map(\.count).max() ?? 0)
            }
        }
        if let maxWidth {
            let floor = headers.map { max($0.count, 4) }
            while widths.reduce(0, +) + 3 * columns + 1 > maxWidth {
                guard let widest = widths.indices.filter({ widths[$0] > floor[$0] }).max(by: { widths[$0] < widths[$1] }) else { break }
                widths[widest] -= 1
            }
        }
        func fit(_ s: String, _ w: Int) -> String {
            if s.count <= w { return s + String(repeating: " ", count: w - s.count) }
            return String(s.prefix(max(0, w - 1))) + "…"
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        var out = [rule]
        if showHeader {
            out.append("| " + headers.enumerated().map { fit($1, widths[$0]) }.joined(separator: " | ") + " |")
            out.append(rule)
        }
        for row in cells {
            let height = row.map(\.count).max() ?? 1
            for line in 0..<height {
                out.append("| " + row.enumerated().map { i, lines in fit(line < lines.count ? lines[line] : "", widths[i]) }.joined(separator: " | ") + " |")
            }
            out.append(rule)
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 CSV: fields with `,`, `"` or line breaks are quoted, `"` doubled.
    public static func csv(headers: [String]?, rows: [[String]]) -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines: [String] = []
        if let headers { lines.append(headers.map(field).joined(separator: ",")) }
        lines += rows.map { $0.map(field).joined(separator: ",") }
        return lines.map { $0 + "\n" }.joined()
    }
}

/// Byte counts as people read them: `80B`, `1.4KiB`, `3.0MiB`, `1.2GiB`.
public func humanBytes(_ n: UInt64) -> String {
    let units = ["KiB", "MiB", "GiB", "TiB"]
    guard n >= 1024 else { return "\(n)B" }
    var value = Double(n) / 1024
    var unit = 0
    while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
    return String(format: "%.1f%@", value, units[unit])
}
