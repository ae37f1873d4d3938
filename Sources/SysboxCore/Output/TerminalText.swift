/// Text made safe for a terminal: control characters (C0, DEL, C1) and line/paragraph separators are
/// written as visible escapes (`\x1b`, `\u{2028}`), so that stored text can never move the cursor,
/// change colours or forge extra lines in `info`, tables or error messages.
public enum TerminalText {
    /// `s` with every control character escaped; with `keepNewlines`, `\n` stays a line break (for
    /// multi-line output such as YAML documents and tables).
    public static func escaped(_ s: String, keepNewlines: Bool) -> String {
        guard s.unicodeScalars.contains(where: { Names.isControl($0) && !(keepNewlines && $0 == "\n") }) else { return s }
        var out = ""
        out.unicodeScalars.reserveCapacity(s.unicodeScalars.count)
        for scalar in s.unicodeScalars {
            if keepNewlines && scalar == "\n" {
                out.unicodeScalars.append(scalar)
            } else if Names.isControl(scalar) {
                out += escape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16)
        if scalar.value <= 0xff { return "\\x" + (hex.count == 1 ? "0" + hex : hex) }
        return "\\u{" + hex + "}"
    }
}
