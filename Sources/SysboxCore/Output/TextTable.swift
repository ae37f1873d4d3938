import Foundation

/// LXD-style boxed tables (`+----+` borders, one header row), with multi-line cells and an optional
/// width limit: the widest columns are narrowed and their cells cut with `…` until the table fits.
/// Control characters in cells are shown as escapes (`\x1b`), never written raw.
public enum TextTable {
    /// Renders `rows` under `headers`. A `\n` in a cell starts a new line inside the cell. `maxWidth`
    /// nil means no limit; columns never shrink below their header or 4 characters.
    /// With `fit`, only its cuttable columns are narrowed (to their floor), and columns are left out in
    /// its drop order until the table fits; a table that still does not fit is printed wider than
    /// `maxWidth` rather than cutting a column that must stay whole.
    public static func render(headers: [String], rows: [[String]], maxWidth: Int? = nil, showHeader: Bool = true, fit: TableFit? = nil) -> String {
        var headers = headers.map { TerminalText.escaped($0, keepNewlines: false) }
        var cells: [[[String]]] = rows.map { row in
            (0..<headers.count).map { i in
                TerminalText.escaped(i < row.count ? row[i] : "", keepNewlines: true)
                    .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            }
        }
        func naturalWidths() -> [Int] {
            var widths = headers.map(\.count)
            for row in cells {
                for (i, lines) in row.enumerated() {
                    widths[i] = max(widths[i], lines.map(\.count).max() ?? 0)
                }
            }
            return widths
        }
        var widths = naturalWidths()
        if let maxWidth, let fit {
            widths = fit.fit(headers: headers, natural: widths, maxWidth: maxWidth) { keep in
                headers = keep.map { headers[$0] }
                cells = cells.map { row in keep.map { row[$0] } }
            }
        } else if let maxWidth {
            let columns = headers.count
            let floor = headers.map { max($0.count, 4) }
            while widths.reduce(0, +) + 3 * columns + 1 > maxWidth {
                guard let widest = widths.indices.filter({ widths[$0] > floor[$0] }).max(by: { widths[$0] < widths[$1] }) else { break }
                widths[widest] -= 1
            }
        }
        func cut(_ s: String, _ w: Int) -> String {
            if s.count <= w { return s + String(repeating: " ", count: w - s.count) }
            return String(s.prefix(max(0, w - 1))) + "…"
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        var out = [rule]
        if showHeader {
            out.append("| " + headers.enumerated().map { cut($1, widths[$0]) }.joined(separator: " | ") + " |")
            out.append(rule)
        }
        for row in cells {
            let height = row.map(\.count).max() ?? 1
            for line in 0..<height {
                out.append("| " + row.enumerated().map { i, lines in cut(line < lines.count ? lines[line] : "", widths[i]) }.joined(separator: " | ") + " |")
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

/// How a table gives up width (`list`): which columns may be cut, and to how narrow, and which are
/// left out first when cutting is not enough. Columns not cuttable are never cut (an address stays whole).
public struct TableFit: Sendable, Equatable {
    /// Column index → the narrowest it may be cut to (never below its header).
    public var cuttable: [Int: Int]
    /// Column indices, the first left out first.
    public var dropOrder: [Int]

    public init(cuttable: [Int: Int], dropOrder: [Int]) {
        self.cuttable = cuttable
        self.dropOrder = dropOrder
    }

    /// The widths of the kept columns; `keep` is called once with the indices kept when some are left out.
    /// - Parameters:
    ///   - headers: column titles (their widths are floors).
    ///   - natural: each column's widest cell.
    ///   - maxWidth: the width to fit, borders included (`| a | b |`).
    func fit(headers: [String], natural: [Int], maxWidth: Int, keep: ([Int]) -> Void) -> [Int] {
        var kept = Array(natural.indices)
        var dropping = dropOrder[...]
        while true {
            var widths = kept.map { natural[$0] }
            let total = { widths.reduce(0, +) + 3 * widths.count + 1 }
            // Cut the cuttable columns, widest first, down to their floors.
            while total() > maxWidth {
                let candidates = widths.indices.filter { i in
                    guard let floor = cuttable[kept[i]] else { return false }
                    return widths[i] > max(floor, headers[kept[i]].count, 1)
                }
                guard let widest = candidates.max(by: { widths[$0] < widths[$1] }) else { break }
                widths[widest] -= 1
            }
            if total() <= maxWidth || dropping.isEmpty {
                if kept.count != natural.count { keep(kept) }
                return widths
            }
            let drop = dropping.removeFirst()
            kept.removeAll { $0 == drop }
        }
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
