import ArgumentParser
import SysboxCore

struct Copy: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy a container, or one of its snapshots, to a new stopped container.",
        discussion: """
            The copy gets the source's files, config, devices and profiles (or the snapshot's), its snapshots unless --instance-only, and a fresh identity: a new UUID and machine-id, new MACs and a new address at its first start (a static ipv4.address of its own NICs is left out, and said so: the source holds it). A running source is frozen while its files are copied.

            Examples:
              sysbox copy web1 web2
              sysbox copy web1/before-upgrade web1-old --instance-only
              sysbox copy web1 test1 -c limits.memory=256MiB -p default -p small
            """,
        aliases: ["cp"]
    )

    @Argument(help: "Source: CONTAINER or CONTAINER/SNAPSHOT.", completion: .containers) var source: String
    @Argument(help: "Name of the new container.") var target: String
    @Flag(name: .customLong("instance-only"), help: "Do not copy the source's snapshots.") var instanceOnly = false
    @Option(name: [.short, .customLong("config")], help: ArgumentHelp("Config key=value for the copy (repeatable).", valueName: "key=value"))
    var config: [String] = []
    @Option(name: [.short, .customLong("profile")], help: ArgumentHelp("Profile of the copy (repeatable, in order; replaces the source's).", valueName: "profile"))
    var profiles: [String] = []

    func run() throws {
        let parts = source.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var pairs: [String: String] = [:]
        for (key, value) in try CLI.pairs(config) { pairs[key] = value }
        let request = CopyRequest(
            source: parts[0], snapshot: parts.count == 2 ? parts[1] : nil, target: target,
            instanceOnly: instanceOnly, config: pairs, profiles: profiles.isEmpty ? nil : profiles)
        let notes = try CLI.withProgress { try CLI.manager().copyContainer(request) }
        CLI.out("Container \(source) copied to \(target)\n")
        for note in notes { CLI.note(note) }
    }
}
