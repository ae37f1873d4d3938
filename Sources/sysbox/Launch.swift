import ArgumentParser
import SysboxCore

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Create a container from an image and start it.",
        discussion: """
            Takes the same options as create.

            Examples:
              sysbox launch busybox web1
              sysbox launch busybox web2 -p default -p small --ephemeral
            """
    )

    @OptionGroup var options: CreateOptions

    func run() throws {
        let manager = try CLI.manager()
        let name = try options.create(manager)
        CLI.out("Starting \(name)\n")
        for warning in try manager.start(name) { CLI.warn(warning) }
    }
}
