import Foundation
import Yams

/// A template's manifest (`Templates/<name>/template.yaml`), also kept with each built image as
/// `metadata.yaml` so a container never depends on the Templates folder once its image exists.
public struct TemplateManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public var when: [String]
        public var content: String
    }

    public var name: String
    public var description: String
    public var aliases: [String]
    public var builder: String
    public var options: [String: String]?
    /// PID 1 of the container.
    public var initPath: String
    /// The signal that shuts init down cleanly.
    public var stopSignal: String
    /// Paths written into the container before init starts.
    public var files: [String: File]?
    /// How the image configures its NICs: `systemd-networkd` makes sysbox render a `.network` file per
    /// NIC with the address it already set (so the guest keeps it); nil: nothing to render.
    public var networkConfig: String?
    /// How to tell that the system is up: `systemd` (`systemctl is-system-running`); nil: once init runs.
    public var ready: String?
    /// The cgroup tree init sees: nil, the host's layout (every v1 hierarchy and the unified one on a
    /// hybrid host); `unified`, only the cgroup2 tree (systemd 256 and later refuse v1 and hybrid).
    public var cgroup: String?

    enum CodingKeys: String, CodingKey {
        case name, description, aliases, builder, options, files, ready, cgroup
        case initPath = "init", stopSignal = "stop_signal", networkConfig = "network_config"
    }

    static let builders = ["busybox", "debootstrap"]

    /// Parses and checks a manifest; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws -> TemplateManifest {
        let manifest: TemplateManifest
        do {
            manifest = try YAMLDecoder().decode(TemplateManifest.self, from: text)
        } catch {
            throw SysboxError.invalid("\(file): not a valid template manifest: \(error)")
        }
        guard builders.contains(manifest.builder) else {
            throw SysboxError.invalid("\(file): unknown builder \(manifest.builder)\(Suggest.hint(manifest.builder, builders)); builders: \(builders.joined(separator: ", "))")
        }
        guard manifest.initPath.hasPrefix("/") else { throw SysboxError.invalid("\(file): init must be an absolute path") }
        _ = try Signals.number(manifest.stopSignal, what: "\(file): stop_signal")
        for alias in manifest.aliases { try ImageReference.validate(alias) }
        if let n = manifest.networkConfig, n != "systemd-networkd" {
            throw SysboxError.invalid("\(file): unknown network_config \(n); use systemd-networkd or leave it out")
        }
        if let c = manifest.cgroup, c != "unified" {
            throw SysboxError.invalid("\(file): unknown cgroup \(c); use unified or leave it out")
        }
        if let r = manifest.ready, r != "systemd" {
            throw SysboxError.invalid("\(file): unknown ready \(r); use systemd or leave it out")
        }
        for (path, entry) in manifest.files ?? [:] {
            do { _ = try Values.absolutePath(path) } catch {
                throw SysboxError.invalid("\(file): file \(path): \(error.message)", cause: error)
            }
            for when in entry.when where when != "start" {
                throw SysboxError.invalid("\(file): file \(path): unknown trigger \(when); use start")
            }
        }
        return manifest
    }

    /// The manifest as YAML (what an image keeps).
    public func yaml() throws -> String { try YAMLEncoder().encode(self) }

    /// The files to write at `trigger` with `{{ KEY }}` replaced by `variables[KEY]` (`name`, `fqdn`,
    /// `machine_id`).
    func rendered(trigger: String, variables: [String: String]) -> [(String, String)] {
        (files ?? [:]).sorted { $0.key < $1.key }.filter { $0.value.when.contains(trigger) }.map { entry in
            var text = entry.value.content
            for (key, value) in variables { text = text.replacingOccurrences(of: "{{ \(key) }}", with: value) }
            return (entry.key, text)
        }
    }
}

/// Signal names as templates and `stop` write them.
public enum Signals {
    static let names: [String: Int32] = [
        "SIGHUP": SIGHUP, "SIGINT": SIGINT, "SIGQUIT": SIGQUIT, "SIGKILL": SIGKILL, "SIGUSR1": SIGUSR1,
        "SIGUSR2": SIGUSR2, "SIGTERM": SIGTERM, "SIGPWR": 30
    ]

    /// `SIGUSR2`, `USR2`, `SIGRTMIN+3`, `15` → the signal number.
    public static func number(_ text: String, what: String) throws -> Int32 {
        let upper = text.uppercased()
        let name = upper.hasPrefix("SIG") ? upper : "SIG" + upper
        if let n = names[name] { return n }
        if name.hasPrefix("SIGRTMIN") {
            let rest = name.dropFirst("SIGRTMIN".count)
            let offset = rest.isEmpty ? 0 : Int32(rest.dropFirst()) ?? -1
            if rest.isEmpty || (rest.first == "+" && offset >= 0 && offset <= 15) { return Int32(sysboxRTMin()) + offset }
        }
        if let n = Int32(text), n > 0, n < 65 { return n }
        throw SysboxError.invalid("\(what): unknown signal \(text); use a name like SIGUSR2 or SIGRTMIN+3")
    }
}
