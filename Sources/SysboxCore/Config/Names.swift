import CSysbox
/// What a name names; each kind has its own rules and message.
public enum NameKind: String, Sendable {
    case container, profile, snapshot, network, device

    /// Characters allowed besides ASCII letters and digits.
    var extraCharacters: Set<Character> {
        switch self {
        case .container, .network: return ["-"]
        case .profile, .snapshot: return ["-", "_", "."]
        case .device: return ["-", "_", "."]
        }
    }

    var maxLength: Int {
        switch self {
        case .network: return 15  // a network's bridge is a kernel interface: IFNAMSIZ - 1
        case .device: return 64
        default: return 63
        }
    }

    var example: String {
        switch self {
        case .container: return "web-1"
        case .profile: return "small"
        case .snapshot: return "before-upgrade"
        case .network: return "sysboxbr1"
        case .device: return "eth1"
        }
    }
}

/// Name validation, done before anything touches the database or the disk.
///
/// Containers (and networks) follow the hostname-label rules LXD and Incus use: 1–63 ASCII letters,
/// digits and `-`, not starting or ending with `-`, not a number. Profiles, snapshots and devices may
/// also use `_` and `.` (never first), which keeps `/`, `..`, spaces and control characters out of
/// every path built from a name.
public enum Names {
    /// Throws `SysboxError(.invalidArgument)` with a one-line reason when `name` is not valid for `kind`.
    public static func validate(_ name: String, as kind: NameKind) throws {
        if let problem = problem(name, as: kind) {
            throw SysboxError.invalid("invalid \(kind.rawValue) name \(quote(name)): \(problem)")
        }
    }

    /// The reason `name` is not valid for `kind`, or nil when it is.
    public static func problem(_ name: String, as kind: NameKind) -> String? {
        // A container name is valid exactly when the C front's check says so (one rule for both); the
        // checks below only say why not.
        if kind == .container, !name.contains("\0"), name.withCString(sysbox_valid_container_name) == 1 { return nil }
        if name.isEmpty { return "it is empty" }
        let count = name.unicodeScalars.count
        if count > kind.maxLength {
            return "it is \(count) characters long; at most \(kind.maxLength) are allowed"
        }
        let allowed = kind.extraCharacters
        for (offset, ch) in name.enumerated() {
            let ok = (ch.isASCII && (ch.isLetter || ch.isNumber)) || allowed.contains(ch)
            if !ok {
                let what = allowed.sorted().map { "'\($0)'" }.joined(separator: ", ")
                return "character \(describe(ch)) at position \(offset + 1) is not allowed; use ASCII letters, digits and \(what) (e.g. \(kind.example))"
            }
        }
        if let first = name.first, !(first.isLetter || first.isNumber) {
            return "it must start with a letter or a digit (e.g. \(kind.example))"
        }
        if kind == .container || kind == .network {
            if name.hasSuffix("-") { return "it must not end with '-'" }
            if name.allSatisfy(\.isNumber) { return "it cannot be a number (e.g. \(kind.example))" }
        }
        // The kernel reserves these interface names (/proc/sys/net/ipv4/conf/{all,default}).
        if kind == .network, ["all", "default", "lo"].contains(name) {
            return "\(name) is reserved by the kernel for interfaces (e.g. \(kind.example))"
        }
        if kind == .container { return "use 1-63 ASCII letters, digits and '-' (e.g. \(kind.example))" }
        return nil
    }

    /// A name or value quoted for an error message, with control characters made visible (`\x1b`), so
    /// that a message is always one line and never drives the terminal.
    public static func quote(_ s: String) -> String {
        "\"" + TerminalText.escaped(s, keepNewlines: false) + "\""
    }

    /// `s` as it is when it has no spaces or control characters, else quoted with them made visible:
    /// for names and keys in messages that may not have been validated yet.
    public static func display(_ s: String) -> String {
        s.isEmpty || s.unicodeScalars.contains(where: { isControl($0) || $0.properties.isWhitespace }) ? quote(s) : s
    }

    /// Whether `scalar` is a control character (C0, DEL, C1) or a line/paragraph separator: none of
    /// these belong in a name, a key, a path or a one-line description.
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        // ASCII without the Unicode property tables (most of what a table prints): C0 and DEL.
        if scalar.isASCII { return scalar.value < 0x20 || scalar.value == 0x7f }
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// The first control character (or line break) of `s` as "\x0a at position 4", or nil.
    public static func controlCharacter(in s: String) -> String? {
        for (offset, scalar) in s.unicodeScalars.enumerated() where isControl(scalar) {
            return "\(TerminalText.escaped(String(scalar), keepNewlines: false)) at position \(offset + 1)"
        }
        return nil
    }

    /// Checks a description (of a container, a profile or a snapshot): one line of text, no control
    /// characters, no line breaks.
    /// - Parameter owner: what it describes, for the message (`profile web`).
    /// - Throws: `SysboxError(.invalidArgument)` naming the owner, the character and the fix.
    public static func validateDescription(_ description: String, of owner: String) throws {
        if let found = controlCharacter(in: description) {
            throw SysboxError.invalid(
                "invalid description for \(owner): it contains the control character \(found); a description is one line of plain text without tabs or line breaks")
        }
    }

    private static func describe(_ ch: Character) -> String {
        if ch == " " { return "' ' (space)" }
        if let scalar = ch.unicodeScalars.first, isControl(scalar) {
            return TerminalText.escaped(String(scalar), keepNewlines: false) + " (control character)"
        }
        return "'\(ch)'"
    }
}
