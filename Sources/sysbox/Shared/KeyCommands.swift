import ArgumentParser
import SysboxCore

/// The verbs of a `KeyedKind`.
enum KeyVerb: String {
    case get, set, unset, show
}

/// The verbs of a `CollectionKind`.
enum CollectionVerb: String {
    case list, delete
}

/// A kind of named object whose keys `get`, `set`, `unset` and `show` read and write: containers
/// (`config …`), profiles and networks. Each kind gives its help texts and its Manager calls; the
/// verbs themselves are written once, below.
protocol KeyedKind {
    /// `get`'s options beyond the name and the key (`config get --expanded`).
    associatedtype GetOptions: ParsableArguments = NoOptions
    /// `show`'s options beyond the name (`config show --expanded`).
    associatedtype ShowOptions: ParsableArguments = NoOptions

    /// "container": the name argument's help is "Container name.".
    static var noun: String { get }
    /// Help of `get`'s key argument.
    static var keyHelp: String { get }
    /// Help of `unset`'s keys argument.
    static var keysHelp: String { get }
    /// The help of each verb.
    static func help(_ verb: KeyVerb) -> VerbHelp
    /// Whether `set` and `unset` with nothing to change are a usage error, found before the manager opens.
    static var refusesEmptyChange: Bool { get }

    /// Checks, before the manager opens, that `get` can read `key`.
    static func checkReadable(_ key: String) throws
    /// The keys `get` looks `key` up in.
    static func config(_ manager: Manager, _ name: String, _ options: GetOptions) throws -> [String: String]
    /// Sets keys; returns notes for the user (what else to do for the change to take effect).
    static func set(_ manager: Manager, _ name: String, _ pairs: [(String, String)]) throws -> [String]
    /// Unsets keys; returns notes for the user.
    static func unset(_ manager: Manager, _ name: String, _ keys: [String]) throws -> [String]
    /// What `show` prints.
    static func document(_ manager: Manager, _ name: String, _ options: ShowOptions) throws -> String
    /// The object's description (`get --property description`).
    static func description(_ manager: Manager, _ name: String) throws -> String
    /// Sets the object's description (`set --property description=…`).
    static func setDescription(_ manager: Manager, _ name: String, _ description: String) throws
}

/// LXD's `--property` of get/set/unset: the object's own fields instead of config keys; sysbox has one.
enum Property {
    static let help: ArgumentHelp = "Act on the object's description (LXD's --property: the key is description) instead of config keys."

    /// Checks a property name.
    static func check(_ key: String) throws {
        guard key == "description" else {
            throw SysboxError(.invalidArgument, "unknown property \(Names.quote(key)); the property sysbox has is description (e.g. --property description=\"web server\")")
        }
    }
}

extension KeyedKind {
    static var nameHelp: String { "\(noun.titleCased) name." }
}

/// `--expanded` where a kind has it; a kind without it looks keys up in the object's own config.
protocol ExpandOption {
    var expanded: Bool { get }
}

extension NoOptions: ExpandOption {
    var expanded: Bool { false }
}

extension GetExpanded: ExpandOption {}

/// Containers and profiles: their keys are config keys (`InstanceConfig`) in the layer of a `ConfigOwner`.
extension KeyedKind where Self: OwnerKind, GetOptions: ExpandOption {
    static var keyHelp: String { "Config key." }
    static var keysHelp: String { "Keys to remove." }
    static var refusesEmptyChange: Bool { false }

    static func checkReadable(_ key: String) throws { try InstanceConfig.validateLookup(key) }

    static func config(_ manager: Manager, _ name: String, _ options: GetOptions) throws -> [String: String] {
        try manager.layer(of: owner(name), expanded: options.expanded).config
    }

    static func set(_ manager: Manager, _ name: String, _ pairs: [(String, String)]) throws -> [String] {
        try manager.setConfig(owner(name), pairs)
        return []
    }

    static func unset(_ manager: Manager, _ name: String, _ keys: [String]) throws -> [String] {
        try manager.unsetConfig(owner(name), keys)
        return []
    }
}

/// `NOUN get NAME KEY`: prints the value, or an empty line when the key is unset.
struct GetCommand<Kind: KeyedKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.help(.get).configuration("get") }

    @Argument(help: ArgumentHelp(Kind.nameHelp), completion: .names(of: Kind.noun)) var name: String
    @Argument(help: ArgumentHelp(Kind.keyHelp)) var key: String
    @OptionGroup var options: Kind.GetOptions
    @Flag(help: Property.help) var property = false

    func run() throws {
        if property {
            try Property.check(key)
            CLI.outRaw(try Kind.description(CLI.manager(), name) + "\n")
            return
        }
        try Kind.checkReadable(key)
        CLI.outRaw((try Kind.config(CLI.manager(), name, options)[key] ?? "") + "\n")
    }
}

/// `NOUN set NAME KEY=VALUE...` (or `KEY VALUE`).
struct SetCommand<Kind: KeyedKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.help(.set).configuration("set") }

    @Argument(help: ArgumentHelp(Kind.nameHelp), completion: .names(of: Kind.noun)) var name: String
    @Argument(help: "KEY=VALUE pairs (or KEY VALUE).") var assignments: [String] = []
    @Flag(help: Property.help) var property = false

    func run() throws {
        // Here, not in validate(): ArgumentParser reports a validate() error before an unknown option.
        if Kind.refusesEmptyChange && assignments.isEmpty { throw ValidationError("give at least one KEY=VALUE") }
        let manager = try CLI.manager()
        let pairs = try CLI.setArguments(assignments)
        if property {
            guard !pairs.isEmpty else { throw SysboxError(.invalidArgument, "give description=TEXT with --property") }
            for (key, _) in pairs { try Property.check(key) }
            for (_, value) in pairs { try Kind.setDescription(manager, name, value) }
            return
        }
        for note in try Kind.set(manager, name, pairs) { CLI.note(note) }
        if Kind.self != NetworkOwner.self {
            for warning in InertKeys.warnings(pairs.map(\.0)) { CLI.warn(warning) }
        }
    }
}

/// Config keys sysbox checks and stores but does not act on yet: setting one warns (it is kept, so
/// that profiles written for LXD stay valid and take effect once the feature exists). None at the
/// moment: the `boot.*` keys were the last, until `sysbox autostart` and `sysbox shutdown` (issue 15).
enum InertKeys {
    /// Key → what is missing.
    static let missing: [String: String] = [:]

    /// One warning per inert key among `keys`, in order, each key once.
    static func warnings(_ keys: [String]) -> [String] {
        var seen = Set<String>()
        return keys.compactMap { key in
            guard let why = missing[key], seen.insert(key).inserted else { return nil }
            return "\(key) is stored but has no effect yet: \(why)"
        }
    }
}

/// `NOUN unset NAME KEY...`.
struct UnsetCommand<Kind: KeyedKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.help(.unset).configuration("unset") }

    @Argument(help: ArgumentHelp(Kind.nameHelp), completion: .names(of: Kind.noun)) var name: String
    @Argument(help: ArgumentHelp(Kind.keysHelp)) var keys: [String] = []

    @Flag(help: Property.help) var property = false

    func run() throws {
        // Here, not in validate(): ArgumentParser reports a validate() error before an unknown option.
        if Kind.refusesEmptyChange && keys.isEmpty { throw ValidationError("give at least one key") }
        if property {
            guard !keys.isEmpty else { throw SysboxError(.invalidArgument, "give description with --property") }
            for key in keys { try Property.check(key) }
            try Kind.setDescription(CLI.manager(), name, "")
            return
        }
        for note in try Kind.unset(CLI.manager(), name, keys) { CLI.note(note) }
    }
}

/// `NOUN show NAME`: the object as YAML.
struct ShowCommand<Kind: KeyedKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.help(.show).configuration("show") }

    @Argument(help: ArgumentHelp(Kind.nameHelp), completion: .names(of: Kind.noun)) var name: String
    @OptionGroup var options: Kind.ShowOptions

    func run() throws {
        CLI.out(try Kind.document(CLI.manager(), name, options))
    }
}

/// A kind whose objects `list` shows and `delete` removes, several at once: profiles and networks.
protocol CollectionKind {
    /// "profile": in "give at least one profile name" and, capitalised, "Profile NAME deleted".
    static var noun: String { get }
    /// The help of each verb.
    static func help(_ verb: CollectionVerb) -> VerbHelp
    /// Prints every object as `format` asks.
    static func printList(_ manager: Manager, _ format: OutputFormat) throws
    /// Deletes all of `names`, or none.
    static func delete(_ manager: Manager, _ names: [String]) throws
}

/// `NOUN list [--format F]`.
struct ListCommand<Kind: CollectionKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.help(.list).configuration("list") }

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    func run() throws {
        let format = try OutputFormat(parsing: format)
        try Kind.printList(CLI.manager(), format)
    }
}

/// `NOUN delete NAME...`: every name is checked first; all are deleted, or none.
struct DeleteCommand<Kind: CollectionKind>: ParsableCommand {
    static var configuration: CommandConfiguration { Kind.help(.delete).configuration("delete") }

    @Argument(help: ArgumentHelp("\(Kind.noun.titleCased) names."), completion: .names(of: Kind.noun)) var names: [String] = []

    func run() throws {
        // Here, not in validate(): ArgumentParser reports a validate() error before an unknown option.
        if names.isEmpty { throw ValidationError("give at least one \(Kind.noun) name") }
        try Kind.delete(CLI.manager(), names)
        for name in names { CLI.out("\(Kind.noun.titleCased) \(name) deleted\n") }
    }
}

extension String {
    /// The first letter in upper case ("network" → "Network").
    fileprivate var titleCased: String { prefix(1).uppercased() + dropFirst() }
}
