import ArgumentParser
import SysboxCore

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Create a container from an image and start it.",
        discussion: """
            Takes the same options as create.

            Examples:
              sysbox launch debian web1
              sysbox launch debian web2 -p small -c boot.autostart=true
            """
    )

    @OptionGroup var options: CreateOptions

    func run() throws {
        let name = try options.create(try CLI.manager())
        CLI.out("Creating \(name)\n")
        throw SysboxError(.unsupported, "\(name) was created but cannot be started: this build of sysbox has no container runtime yet (the next milestone); its record stays, remove it with: sysbox delete \(name)")
    }
}
