import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// What `list` and `info` show of a container.
/// `CaseIterable`: the statuses `list` filters accept, in declaration order.
public enum ContainerStatus: String, Sendable, Codable, CaseIterable {
    case running = "Running", stopped = "Stopped", starting = "Starting", stopping = "Stopping", frozen = "Frozen", error = "Error"

    /// Init runs: running, or frozen (paused).
    public var isLive: Bool { self == .running || self == .frozen }
}

/// A container as the CLI shows it: its record, own and expanded settings, and live state.
public struct ContainerView: Sendable {
    public var record: ContainerRecord
    public var profiles: [String]
    public var local: ConfigLayer
    public var expanded: ConfigLayer
    public var snapshots: Int
    public var status: ContainerStatus
    public var pid: Int32?
    public var ipv4: [String]

    public var name: String { record.name }
}

/// What `sysbox create` asks for.
public struct CreateRequest: Sendable {
    public var name: String
    public var image: String
    /// nil: the `default` profile; []: no profiles.
    public var profiles: [String]?
    public var config: [String: String]
    public var devices: DeviceMap
    public var ephemeral: Bool
    public var description: String

    public init(
        name: String, image: String, profiles: [String]? = nil, config: [String: String] = [:],
        devices: DeviceMap = [:], ephemeral: Bool = false, description: String = ""
    ) {
        self.name = name
        self.image = image
        self.profiles = profiles
        self.config = config
        self.devices = devices
        self.ephemeral = ephemeral
        self.description = description
    }
}

/// Image references (`debian`, `debian/12`, a fingerprint prefix) as written on the command line.
public enum ImageReference {
    /// Checks the form of an image reference: 1–128 characters, letters, digits, `.`, `_`, `-` and `/`
    /// separating non-empty parts, no `..`.
    public static func validate(_ ref: String) throws {
        let parts = ref.split(separator: "/", omittingEmptySubsequences: false)
        let ok =
            !ref.isEmpty && ref.count <= 128
            && parts.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) } }
        if !ok {
            throw SysboxError.invalid("invalid image name \(Names.quote(ref)): use an alias like debian or debian/12 (letters, digits, '.', '_', '-', parts separated by '/')")
        }
    }
}
