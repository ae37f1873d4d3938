import ArgumentParser
import SysboxCore

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Create a container from an image and start it.",
        discussion: """
            Takes the same options as create. With --wait, returns once the system has finished booting (see sysbox wait) and prints its state.

            Examples:
              sysbox launch busybox web1
              sysbox launch busybox web2 -p default -p small --ephemeral
              sysbox launch debian web3 --wait
            """
    )

    @OptionGroup var options: CreateOptions
    @Flag(help: "Wait until the system has finished booting (as sysbox wait).") var wait = false
    @Option(help: "Seconds --wait waits at most.") var timeout: Double = 120

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        let manager = try CLI.manager()
        let name = try options.create(manager)
        CLI.out("Starting \(name)\n")
        for warning in try manager.start(name) { CLI.warn(warning) }
        if wait { try Wait.wait(manager, name: name, timeout: timeout) }
    }
}
