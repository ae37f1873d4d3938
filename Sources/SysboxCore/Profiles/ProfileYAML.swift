import Foundation
import SysboxStore
import Yams

/// A profile in its exchange format: only `description`, `config` and `devices`.
public struct ProfileDocument: Equatable, Sendable {
    public var description: String
    public var layer: ConfigLayer

    public init(description: String = "", config: [String: String] = [:], devices: DeviceMap = [:]) {
        self.description = description
        self.layer = ConfigLayer(config: config, devices: devices)
    }
}

/// Reads and writes profile files ("YAML-lite": a mapping with `description` (string), `config` (key →
/// scalar) and `devices` (name → key → scalar); no anchors, aliases, sequences or other keys).
///
/// Every error is one line, `FILE:LINE: message`, with a suggestion when a name is close to a known one.
public enum ProfileYAML {
    static let topLevelKeys = ["description", "config", "devices"]

    /// Parses and validates a profile file.
    /// - Parameters:
    ///   - text: the file's contents.
    ///   - file: the name used in error messages (a path, or `<stdin>`).
    /// - Throws: `SysboxError(.invalidArgument)` with `FILE:LINE: message`.
    ///   - kind: what the document describes, in messages: "profile", or "container" (`config edit`
    ///     reads a container's own description, config and devices in the same format).
    public static func parse(_ text: String, file: String, kind: String = "profile") throws -> ProfileDocument {
        func fail(_ line: Int?, _ message: String) -> SysboxError {
            SysboxError.invalid("\(file):\(line ?? 1): \(message)")
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw describe(error, text: text, file: file)
        }
        var doc = ProfileDocument()
        guard let root, !isEmpty(root) else { return doc }  // an empty file is an empty profile
        if let line = anchorOrAliasLine(text) {
            throw fail(line, "anchors and aliases are not supported in profile files; write the values out")
        }
        guard case let .mapping(top) = root else {
            throw fail(root.mark?.line, "a \(kind) is a mapping with the keys description, config and devices")
        }
        for (keyNode, value) in top {
            let line = keyNode.mark?.line
            guard case let .scalar(keyScalar) = keyNode else { throw fail(line, "keys must be plain names") }
            let key = keyScalar.string
            switch key {
            case "description":
                doc.description = try scalar(value, what: "description", file: file) ?? ""
                if let found = Names.controlCharacter(in: doc.description) {
                    throw fail(
                        value.mark?.line ?? line, "the description contains the control character \(found); a description is one line of plain text without tabs or line breaks")
                }
            case "config":
                for (k, v) in try mapping(value, what: "config", file: file) {
                    let keyLine = k.mark?.line
                    guard case let .scalar(ks) = k else { throw fail(keyLine, "config keys must be plain names") }
                    guard let text = try scalar(v, what: "config key \(Names.display(ks.string))", file: file) else {
                        throw fail(v.mark?.line ?? keyLine, "config key \(Names.display(ks.string)) has no value; give one or remove the line")
                    }
                    do {
                        try InstanceConfig.validate(ks.string, text, writer: .user)
                    } catch let e as SysboxError {
                        throw fail(keyLine, e.message)
                    }
                    doc.layer.config[ks.string] = text
                }
            case "devices":
                for (nameNode, body) in try mapping(value, what: "devices", file: file) {
                    let nameLine = nameNode.mark?.line
                    guard case let .scalar(ns) = nameNode else { throw fail(nameLine, "device names must be plain names") }
                    let name = ns.string
                    if let problem = Names.problem(name, as: .device) {
                        throw fail(nameLine, "invalid device name \(Names.quote(name)): \(problem)")
                    }
                    var config: [String: String] = [:]
                    var lines: [String: Int] = [:]
                    for (k, v) in try mapping(body, what: "device \(name)", file: file) {
                        guard case let .scalar(ks) = k else { throw fail(k.mark?.line, "device keys must be plain names") }
                        guard let text = try scalar(v, what: "device \(name) key \(Names.display(ks.string))", file: file) else {
                            throw fail(k.mark?.line, "device \(name) key \(Names.display(ks.string)) has no value")
                        }
                        config[ks.string] = text
                        lines[ks.string] = k.mark?.line
                    }
                    do {
                        let type = try Devices.type(of: name, config)
                        for (k, v) in config.sorted(by: { (lines[$0.key] ?? 0) < (lines[$1.key] ?? 0) }) where k != "type" {
                            do {
                                try Devices.validateKey(device: name, type: type, key: k, value: v)
                            } catch let e as SysboxError {
                                throw fail(lines[k], e.message)
                            }
                        }
                        try Devices.validateComplete(name: name, type: type, config)
                    } catch let e as SysboxError where !e.message.hasPrefix("\(file):") {
                        throw fail(lines["type"] ?? nameLine, e.message)
                    }
                    doc.layer.devices[name] = config
                    // Checked as each device is added, so a clash points at the device that causes it.
                    do {
                        try Devices.validateSet(doc.layer.devices, requireRoot: false)
                    } catch let e as SysboxError {
                        throw fail(nameLine, e.message)
                    }
                }
            case "name", "used_by", "project":
                throw fail(line, "\(key) is not part of a \(kind) file (the \(kind)'s name comes from the command line); remove the line")
            case "profiles" where kind == "container":
                throw fail(line, "profiles is not part of this file; change a container's profile list with: sysbox profile assign")
            default:
                throw fail(line, "unknown top-level key \(Names.display(key))\(Suggest.hint(key, topLevelKeys, then: "a \(kind) has only description, config and devices"))")
            }
        }
        return doc
    }

    /// Whether `text` holds no YAML document at all (empty, only blank lines and comments, or `---`),
    /// as opposed to a profile that is explicitly empty (`config: {}`).
    public static func isEmptyDocument(_ text: String) -> Bool {
        do { return isEmpty(try Yams.compose(yaml: text)) } catch { return false }
    }

    /// No document, or one that is only an empty plain scalar (`---` alone).
    private static func isEmpty(_ root: Node?) -> Bool {
        guard let root else { return true }
        if case let .scalar(s) = root, s.style == .plain, s.string.isEmpty { return true }
        return false
    }

    /// The first line where a node starts with `&anchor` or `*alias` (Yams resolves aliases into copies
    /// and keeps no trace of them, so this looks at the text: at a line's start, after `- ` and after
    /// the first `: ` outside quotes, where a plain scalar cannot start with `&` or `*`).
    static func anchorOrAliasLine(_ text: String) -> Int? {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var line = Substring(raw).drop { $0 == " " }
            while line.hasPrefix("- ") { line = line.dropFirst(2).drop { $0 == " " } }
            if line.hasPrefix("&") || line.hasPrefix("*") { return index + 1 }
            var quote: Character?
            var previous: Character = " "
            for (offset, ch) in line.enumerated() {
                if let q = quote {
                    if ch == q { quote = nil }
                } else if ch == "'" || ch == "\"" {
                    quote = ch
                } else if ch == "#" && previous == " " {
                    break
                } else if ch == ":" {
                    let rest = line.dropFirst(offset + 1)
                    if rest.first == " " || rest.first == "\t" {
                        let value = rest.drop { $0 == " " || $0 == "\t" }
                        if value.hasPrefix("&") || value.hasPrefix("*") { return index + 1 }
                        break
                    }
                }
                previous = ch
            }
        }
        return nil
    }

    /// A scalar's text; nil for `null`/`~`/empty. Throws for mappings, sequences and aliases.
    private static func scalar(_ node: Node, what: String, file: String) throws -> String? {
        switch node {
        case let .scalar(s):
            if node.null != nil { return nil }
            return s.string
        case .mapping:
            throw SysboxError.invalid("\(file):\(node.mark?.line ?? 1): \(what) must be a single value, not a mapping")
        case .sequence:
            throw SysboxError.invalid("\(file):\(node.mark?.line ?? 1): \(what) must be a single value, not a list")
        case .alias:
            throw SysboxError.invalid("\(file):\(node.mark?.line ?? 1): anchors and aliases are not supported in profile files")
        }
    }

    /// A mapping's pairs; empty for `null`. Throws for scalars, sequences and aliases.
    private static func mapping(_ node: Node, what: String, file: String) throws -> [(Node, Node)] {
        switch node {
        case let .mapping(m):
            return Array(m)
        case let .scalar(s) where s.style == .plain && ["", "~", "null"].contains(s.string):
            return []
        case .alias:
            throw SysboxError.invalid("\(file):\(node.mark?.line ?? 1): anchors and aliases are not supported in profile files")
        case .sequence:
            throw SysboxError.invalid("\(file):\(node.mark?.line ?? 1): \(what) must be a mapping of name: value lines, not a list")
        case .scalar:
            throw SysboxError.invalid("\(file):\(node.mark?.line ?? 1): \(what) must be a mapping of name: value lines, not a single value")
        }
    }

    /// Turns a Yams syntax error into `FILE:LINE: message`.
    static func describe(_ error: YamlError, text: String, file: String) -> SysboxError {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return SysboxError.invalid("\(file):\(mark.line): YAML syntax error: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let line = secondOccurrence(of: key, after: context.mark, in: text) ?? context.mark.line
            return SysboxError.invalid("\(file):\(line): duplicate key \(key) (first at line \(context.mark.line)); keep one")
        case let .reader(problem, _, _, _):
            return SysboxError.invalid("\(file):1: cannot read the file as UTF-8 text: \(problem)")
        default:
            return SysboxError.invalid("\(file):1: YAML error: \(error)")
        }
    }

    /// Line of the next `key:` at the same indentation after `mark` (Yams reports the first occurrence).
    private static func secondOccurrence(of key: String, after mark: Mark, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = String(repeating: " ", count: max(0, mark.column - 1))
        for i in mark.line..<lines.count {
            let line = lines[i]
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where line.hasPrefix(indent + candidate + ":") {
                return i + 1
            }
        }
        return nil
    }

    /// Renders a profile in the exchange format (keys sorted, `config: {}` when empty), so that
    /// `parse(render(doc)) == doc`.
    public static func render(_ doc: ProfileDocument) -> String {
        func scalar(_ s: String) -> Node { YAMLDocs.scalar(s) }
        func map(_ pairs: [(String, Node)]) -> Node {
            .mapping(.init(pairs.map { (scalar($0.0), $0.1) }))
        }
        let config = map(doc.layer.config.sorted { $0.key < $1.key }.map { ($0.key, scalar($0.value)) })
        let devices = map(
            doc.layer.devices.sorted { $0.key < $1.key }.map { name, keys in
                (name, map(keys.sorted { $0.key < $1.key }.map { ($0.key, scalar($0.value)) }))
            })
        let root = map([("description", scalar(doc.description)), ("config", config), ("devices", devices)])
        return (try? Yams.serialize(node: root)) ?? ""
    }
}
