import ArgumentParser
import SysboxCore

struct Launch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "launch",
        abstract: "Create a container from an image and start it.",
        discussion: """
            Takes the same options as create. A launch whose start fails removes the container again (a refused launch changes nothing; create and then start to keep it). With --wait, returns once the system has finished booting (see sysbox wait) and prints its state.

            Examples:
              sysbox launch busybox web1
              sysbox launch busybox web2 -p default -p small --ephemeral
              sysbox launch debian web3 --wait
            """
    )

    @OptionGroup var options: CreateOptions
    @Flag(help: "Wait until the system has finished booting (as sysbox wait).") var wait = false
    @Option(help: "Seconds --wait waits at most.") var timeout: Double = 120

    /// A launch whose start failed removes the container it created (record, storage, leases: as
    /// `delete --force`), so a refused launch changes nothing; the error says so at its end. What the
    /// launch shared with others stays: an image built on first use, the default network.
    static func undo(_ manager: Manager, _ name: String, after error: any Error) -> SysboxError {
        let code = (error as? SysboxError)?.code ?? .internalError
        do {
            try manager.deleteContainers([name], force: true)
        } catch let cleanup {
            return SysboxError(code, "\(error); \(name) was created but could not be removed again (\(cleanup)); delete it with: sysbox delete --force \(name)")
        }
        return SysboxError(code, "\(error); \(name) is removed again (a launch that cannot start leaves nothing behind)")
    }

    func validate() throws {
        if timeout <= 0 { throw ValidationError("--timeout must be a positive number of seconds") }
    }

    func run() throws {
        let manager = try CLI.manager()
        let name = try options.create(manager)
        CLI.out("Starting \(name)\n")
        let warnings: [String]
        do {
            warnings = try manager.start(name)
        } catch {
            throw Self.undo(manager, name, after: error)
        }
        for warning in warnings { CLI.warn(warning) }
        if wait { try Wait.wait(manager, name: name, timeout: timeout) }
    }
}
