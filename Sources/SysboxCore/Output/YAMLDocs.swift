import Foundation
import Yams

/// YAML renderings of containers and devices (`config show`, `config device show`).
public enum YAMLDocs {
    /// A string scalar, double-quoted when plain YAML would read it as something else (empty, null,
    /// a boolean, a number), so that it reads back as the same string.
    static func scalar(_ s: String) -> Node {
        let plain = Node.scalar(.init(s))
        let needsQuotes = s.isEmpty || Resolver.default.resolveTag(of: plain) != .str
        return .scalar(.init(s, Tag(.str), needsQuotes ? .doubleQuoted : .any))
    }
    static func map(_ pairs: [(String, Node)]) -> Node { .mapping(.init(pairs.map { (scalar($0.0), $0.1) })) }

    static func config(_ c: [String: String]) -> Node {
        map(c.sorted { $0.key < $1.key }.map { ($0.key, scalar($0.value)) })
    }

    static func devices(_ d: [String: [String: String]]) -> Node {
        map(d.sorted { $0.key < $1.key }.map { ($0.key, config($0.value)) })
    }

    /// A container: name, description, image, ephemeral, profiles, config and devices (its own, or
    /// the expansion with `expanded`).
    public static func container(_ view: ContainerView, expanded: Bool) -> String {
        let layer = expanded ? view.expanded : view.local
        let root = map([
            ("name", scalar(view.name)),
            ("description", scalar(view.record.description)),
            ("image", scalar(view.record.image)),
            ("ephemeral", .scalar(.init(view.record.ephemeral ? "true" : "false"))),
            ("profiles", .sequence(.init(view.profiles.map(scalar)))),
            ("config", config(layer.config)),
            ("devices", devices(layer.devices))
        ])
        return (try? Yams.serialize(node: root)) ?? ""
    }

    /// A map of devices.
    public static func devices(_ d: [String: [String: String]]) -> String {
        (try? Yams.serialize(node: devices(d) as Node)) ?? ""
    }
}

extension YAMLDocs {
    /// A network: name, description, type, config, used_by, managed.
    public static func network(name: String, description: String, type: String, config: [String: String], usedBy: [String]) -> String {
        let root = map([
            ("name", scalar(name)),
            ("description", scalar(description)),
            ("type", scalar(type)),
            ("config", self.config(config)),
            ("used_by", .sequence(.init(usedBy.map(scalar)))),
            ("managed", .scalar(.init("true")))
        ])
        return (try? Yams.serialize(node: root)) ?? ""
    }
}

extension YAMLDocs {
    /// A snapshot: name, dates, the profile list, config and devices as they were.
    public static func snapshot(
        name: String, createdAt: Date, expiresAt: Date?, profiles: [String],
        config: [String: String], devices: [String: [String: String]]
    ) -> String {
        let f = ISO8601DateFormatter()
        let root = map([
            ("name", scalar(name)),
            ("created_at", scalar(f.string(from: createdAt))),
            ("expires_at", expiresAt.map { scalar(f.string(from: $0)) } ?? .scalar(.init("null"))),
            ("profiles", .sequence(.init(profiles.map(scalar)))),
            ("config", self.config(config)),
            ("devices", self.devices(devices))
        ])
        return (try? Yams.serialize(node: root)) ?? ""
    }
}
