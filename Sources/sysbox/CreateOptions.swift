import ArgumentParser
import Foundation
import SysboxCore

/// Options shared by `create` and `launch`.
struct CreateOptions: ParsableArguments {
    @Argument(help: "Image alias or fingerprint, e.g. busybox (built from its template on first use).", completion: .images)
    var image: String

    @Argument(help: "Container name (a random one when left out).")
    var name: String?

    @Option(name: [.short, .customLong("config")], help: ArgumentHelp("Config key=value (repeatable).", valueName: "key=value"))
    var config: [String] = []

    @Option(name: [.short, .customLong("profile")], help: ArgumentHelp("Profile to apply (repeatable, in order; replaces default).", valueName: "profile"))
    var profiles: [String] = []

    @Flag(name: .customLong("no-profiles"), help: "Apply no profile at all (the container then needs its own root disk).")
    var noProfiles = false

    @Option(
        name: [.short, .customLong("device")],
        help: ArgumentHelp(
            "Device of the container's own: NAME,key=value[,key=value] (repeatable). A device of its profiles gets these keys changed; a new one needs type=, or path= (a disk) or network= (a nic).",
            valueName: "device"))
    var devices: [String] = []

    @Flag(name: .shortAndLong, help: "Delete the container when it stops.")
    var ephemeral = false

    @Option(help: "A description of the container.")
    var description: String = ""

    func validate() throws {
        if noProfiles && !profiles.isEmpty {
            throw ValidationError("--no-profiles and --profile cannot be used together")
        }
    }

    /// Records the container and returns its name.
    func create(_ manager: Manager) throws -> String {
        var config: [String: String] = [:]
        for (key, value) in try CLI.pairs(self.config) { config[key] = value }
        let profiles: [String]? = noProfiles ? [] : (self.profiles.isEmpty ? nil : self.profiles)
        let devices = try DeviceOverrides.parse(self.devices)
        let name = try self.name ?? RandomName.make(avoiding: Set(manager.containerNames()))
        // Said once the request passed its checks: a refused one prints nothing on stdout.
        _ = try CLI.withProgress {
            try manager.createContainer(
                CreateRequest(
                    name: name, image: image, profiles: profiles, config: config,
                    devices: try DeviceOverrides.resolve(devices, profiles: profiles ?? ["default"], manager),
                    ephemeral: ephemeral, description: description), progress: CLI.progress, checked: { CLI.out("Creating \(name)\n") })
        }
        for warning in InertKeys.warnings(config.keys.sorted()) { CLI.warn(warning) }
        return name
    }
}

/// `create`/`launch -d NAME,key=value[,key=value]` (LXD's device overrides).
enum DeviceOverrides {
    /// Each `-d` as a device name and its keys, in order; a device given twice is refused.
    static func parse(_ args: [String]) throws -> [(name: String, keys: [String: String])] {
        var seen = Set<String>()
        return try args.map { arg in
            let parts = arg.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard let name = parts.first, !name.isEmpty, !name.contains("=") else {
                throw SysboxError(.invalidArgument, "-d \(Names.quote(arg)): give the device name first, then its keys: -d root,path=/ or -d eth0,network=NETWORK")
            }
            guard parts.count > 1 else {
                throw SysboxError(.invalidArgument, "-d \(Names.quote(arg)): give at least one key=value after the device name, e.g. -d \(name),path=/")
            }
            try Names.validate(name, as: .device)
            guard seen.insert(name).inserted else {
                throw SysboxError(.invalidArgument, "device \(name) is given twice with -d; give each device once with all its keys")
            }
            var keys: [String: String] = [:]
            for (key, value) in try CLI.pairs(Array(parts.dropFirst())) {
                guard keys[key] == nil else { throw SysboxError(.invalidArgument, "-d \(name): key \(key) is given twice") }
                keys[key] = value
            }
            return (name, keys)
        }
    }

    /// The container's own devices: a device its profiles have (the last profile's wins, as in the
    /// expansion) with the keys changed, or a new device whose type is `type=`, else `disk` when
    /// `path=` is given, `nic` when `network=` is. Checked as `config device add` checks (`Devices.validate`,
    /// then the whole expansion) by `createContainer`.
    static func resolve(_ overrides: [(name: String, keys: [String: String])], profiles: [String], _ manager: Manager) throws -> [String: [String: String]] {
        guard !overrides.isEmpty else { return [:] }
        var inherited: [String: [String: String]] = [:]
        for profile in profiles {
            for (name, device) in try manager.profileDocument(profile).layer.devices { inherited[name] = device }
        }
        var devices: [String: [String: String]] = [:]
        for (name, keys) in overrides {
            if var device = inherited[name], device["type"] != "none", keys["type"] == nil || keys["type"] == device["type"] {
                for (key, value) in keys { device[key] = value }
                devices[name] = device
                continue
            }
            var device = keys
            if device["type"] == nil {
                if keys["path"] != nil {
                    device["type"] = "disk"
                } else if keys["network"] != nil {
                    device["type"] = "nic"
                } else {
                    throw SysboxError(
                        .invalidArgument,
                        "-d \(name): no profile has a device \(name) to change; a new device needs type=disk or type=nic (or path= for a disk, network= for a nic)")
                }
            }
            devices[name] = device
        }
        return devices
    }
}

/// LXD-style random names (`adjective-animal`) for containers created without one.
enum RandomName {
    static let adjectives = [
        "able", "brave", "calm", "eager", "fair", "glad", "keen", "kind", "lucky", "neat",
        "proud", "quick", "quiet", "sharp", "smart", "sunny", "swift", "tidy", "warm", "wise"
    ]
    static let animals = [
        "badger", "beaver", "bison", "crane", "dingo", "eagle", "ferret", "gecko", "heron", "ibex",
        "koala", "lemur", "lynx", "marten", "otter", "panda", "puffin", "quail", "raven", "yak"
    ]

    static func make(avoiding taken: Set<String>) -> String {
        for _ in 0..<100 {
            let name = "\(adjectives.randomElement() ?? "able")-\(animals.randomElement() ?? "yak")"
            if !taken.contains(name) { return name }
        }
        return "sysbox-\(UInt32.random(in: 0...UInt32.max))"
    }
}
