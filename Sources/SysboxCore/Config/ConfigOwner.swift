import Foundation
import GRDB
import SysboxStore

/// Whose config a command edits: a container's own layer or a profile.
public enum ConfigOwner: Sendable, CustomStringConvertible {
    case container(String)
    case profile(String)

    public var description: String {
        switch self {
        case let .container(name): return "container \(name)"
        case let .profile(name): return "profile \(name)"
        }
    }

    var name: String {
        switch self {
        case let .container(name), let .profile(name): return name
        }
    }

    func validateName() throws {
        switch self {
        case let .container(name): try Names.validate(name, as: .container)
        case let .profile(name): try Names.validate(name, as: .profile)
        }
    }

    /// The CLI verb group that edits this owner: `sysbox config` or `sysbox profile`.
    var command: String {
        switch self {
        case .container: return "sysbox config"
        case .profile: return "sysbox profile"
        }
    }
}

/// Refuses a name given twice in one command (`unset web1 user.x user.x`), before anything is looked
/// up, so the message says what is wrong rather than what the second copy ran into.
func refuseDuplicates(_ names: [String], what: String) throws {
    var seen = Set<String>()
    for name in names where !seen.insert(name).inserted {
        throw SysboxError.invalid("\(what) \(Names.display(name)) is given twice; list each \(what) once")
    }
}

/// What an edit sees besides the layer it changes.
struct EditContext {
    /// For a container: device name → the last profile that provides it.
    var inheritedDevices: [String: String] = [:]
    /// For a container: the expansion of its profiles alone.
    var inherited = ConfigLayer()
}
