import ArgumentParser
import Foundation
import SysboxCore

/// Options shared by `create` and `launch`.
struct CreateOptions: ParsableArguments {
    @Argument(help: "Image alias or fingerprint, e.g. busybox (built from its template on first use).")
    var image: String

    @Argument(help: "Container name (a random one when left out).")
    var name: String?

    @Option(name: [.short, .customLong("config")], help: ArgumentHelp("Config key=value (repeatable).", valueName: "key=value"))
    var config: [String] = []

    @Option(name: [.short, .customLong("profile")], help: ArgumentHelp("Profile to apply (repeatable, in order; replaces default).", valueName: "profile"))
    var profiles: [String] = []

    @Flag(name: .customLong("no-profiles"), help: "Apply no profile at all (the container then needs its own root disk).")
    var noProfiles = false

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
        let name = try self.name ?? RandomName.make(avoiding: Set(manager.containerNames()))
        // Said once the request passed its checks: a refused one prints nothing on stdout.
        _ = try manager.createContainer(
            CreateRequest(
                name: name, image: image, profiles: profiles, config: config,
                ephemeral: ephemeral, description: description), progress: CLI.progress, checked: { CLI.out("Creating \(name)\n") })
        return name
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
