import ArgumentParser
import Foundation
import SysboxCore

struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until a container's system has finished booting, and print its state.",
        discussion: """
            For a systemd image, waits until `systemctl is-system-running` is no longer initializing or starting, then prints the state: running (exit 0), or degraded, maintenance, … with the failed units (exit 1). For other images, returns once init runs. A container that is not running, stops while booting, or does not finish within the timeout is an error.

            Examples:
              sysbox wait web1
              sysbox wait web1 --timeout 300
              sysbox wait web1 --timeout -1     # no time limit
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Option(parsing: .unconditional, help: "Seconds to wait at most; -1 waits forever (as LXD).") var timeout: Double = 120

    func validate() throws { try Self.checkTimeout(timeout) }

    func run() throws {
        try Self.wait(try CLI.manager(), name: name, timeout: timeout)
    }

    /// What `--timeout -1` stands for: a hundred years.
    static let forever: Double = 100 * 365 * 86_400

    /// A timeout is a positive number of seconds, or -1 for forever.
    static func checkTimeout(_ timeout: Double) throws {
        if timeout <= 0 && timeout != -1 { throw ValidationError("--timeout must be a positive number of seconds, or -1 to wait forever") }
    }

    /// Waits, prints the state, and exits 1 unless the system is running.
    static func wait(_ manager: Manager, name: String, timeout: Double) throws {
        let readiness = try manager.waitReady(name, timeout: timeout == -1 ? forever : timeout)
        CLI.out("\(readiness.state)\n")
        if !readiness.isUp {
            let units = readiness.failedUnits.isEmpty ? "no failed units" : "failed units: \(readiness.failedUnits.joined(separator: ", "))"
            CLI.error("container \(name) is \(readiness.state) (\(units)); see sysbox exec \(name) -- systemctl --failed")
            throw ExitCode(1)
        }
    }
}

struct Shell: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shell",
        abstract: "Open a login shell as root inside a container (su -l).",
        discussion: """
            The same as `sysbox exec NAME -t -- su -l` (with `-T` when not on a terminal): root's login shell, with its profile and home.

            Examples:
              sysbox shell web1
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String

    func run() throws {
        let tty = isatty(0) == 1 && isatty(1) == 1
        let code: Int32
        do {
            code = try CLI.manager().exec(ExecRequest(name: name, command: ["su", "-l"], interactive: tty))
        } catch let failure as ExecFailure {
            CLI.error(failure.message)
            throw ExitCode(failure.exitCode)
        }
        if code != 0 { throw ExitCode(code) }
    }
}
