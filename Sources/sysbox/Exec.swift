import ArgumentParser
import Foundation
import SysboxCore

struct Exec: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command inside a running container.",
        discussion: """
            The command may follow the name directly when none of its words starts with - (sysbox exec web1 ls /); otherwise give it after -- (sysbox exec web1 -- ls -l), as words that look like options are taken for exec's own. The exit code of the command is passed through (128+N when killed by signal N); 127 means the command was not found in the container, 126 that it could not be run, 125 that sysbox could not set it up (user, directory, environment). With a terminal on stdin and stdout (or -t) the command gets a pty from the container's own /dev/pts; otherwise terminals are relayed through pipes.

            Examples:
              sysbox exec web1 -- sh
              sysbox exec web1 -- cat /etc/os-release
              sysbox exec web1 cat /etc/hostname
              sysbox exec web1 --env DEBUG=1 --cwd /tmp --user nobody -- id
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Argument(help: "The command and its arguments; after -- when they start with - (e.g. -- ls -l).") var command: [String] = []
    @Option(name: .customLong("env"), help: ArgumentHelp("Environment variable KEY=VALUE (repeatable).", valueName: "KEY=VALUE")) var env: [String] = []
    @Option(help: "Working directory inside the container (default: the user's home).") var cwd: String?
    @Option(name: .shortAndLong, help: "User: a name from the container's /etc/passwd, a UID, or UID:GID.") var user: String?
    @Flag(name: [.customShort("t"), .customLong("force-interactive")], help: "Allocate a pty even when not on a terminal.") var interactive = false
    @Flag(name: [.customShort("T"), .customLong("force-noninteractive")], help: "Never allocate a pty.") var nonInteractive = false

    func validate() throws {
        if command.isEmpty { throw ValidationError("give the command, after -- when it has options: sysbox exec \(name) -- COMMAND") }
        if interactive && nonInteractive { throw ValidationError("-t and -T cannot be used together") }
    }

    func run() throws {
        let pty = interactive || (!nonInteractive && isatty(0) == 1 && isatty(1) == 1)
        let code: Int32
        do {
            code = try CLI.manager().exec(ExecRequest(name: name, command: command, environment: env, cwd: cwd, user: user, interactive: pty))
        } catch let failure as ExecFailure {
            CLI.error(failure.message)
            throw ExitCode(failure.exitCode)
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a container's console (detach with Ctrl-a q), or print its log.",
        discussion: """
            Examples:
              sysbox console web1
              sysbox console web1 --show-log
            """)

    @Argument(help: "Container name.", completion: .containers) var name: String
    @Flag(name: .customLong("show-log"), help: "Print the console log instead of attaching.") var showLog = false

    func run() throws {
        let manager = try CLI.manager()
        if showLog {
            CLI.outRaw(try manager.consoleLog(name))
            return
        }
        try manager.attachConsole(name) {
            FileHandle.standardError.write(Data("To detach from the console, press: <ctrl>+a q\r\n".utf8))
        }
    }
}

/// The monitor of one container (started by `start`, never by hand).
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__monitor", abstract: "Internal: a container's monitor.",
        shouldDisplay: false)

    @Argument var name: String

    func run() throws {
        _ = sysboxCloseFrom(4)
        // A `start` killed before reading the status line, or a console client gone, must not kill the
        // monitor with SIGPIPE (init resets every signal to its default before exec).
        signal(SIGPIPE, SIG_IGN)
        let stateDirectory = try Paths.stateDirectory()
        try Names.validate(name, as: .container)
        let code = Monitor.run(stateDirectory: stateDirectory, name: name, statusFD: 3, openManager: { try CLI.manager(recover: false) })
        throw ExitCode(code)
    }
}

/// The monitor again after its idle phase in the C front (`sysbox __monitor-idle`), which execs this
/// when init exits, with init's wait status and the fds it kept (never run by hand).
struct MonitorResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__monitor-resume", abstract: "Internal: a container's monitor, after init exited.",
        shouldDisplay: false)

    @Argument var name: String
    @Argument var status: Int32
    @Argument var fds: [Int32]

    func run() throws {
        guard fds.count >= 4, fds.allSatisfy({ $0 > 2 && fcntl($0, F_GETFD) >= 0 }) else {
            throw ValidationError("__monitor-resume is internal to sysbox (started by a container's monitor)")
        }
        signal(SIGPIPE, SIG_IGN)
        let stateDirectory = try Paths.stateDirectory()
        try Names.validate(name, as: .container)
        let resume = Monitor.Resume(status: status, master: fds[0], slave: fds[1], listener: fds[2], lock: fds[3], clients: Array(fds.dropFirst(4)))
        let code = Monitor.run(stateDirectory: stateDirectory, name: name, statusFD: -1, openManager: { try CLI.manager(recover: false) }, resume: resume)
        throw ExitCode(code)
    }
}
