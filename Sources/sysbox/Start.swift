import ArgumentParser
import Foundation
import SysboxCore

struct Start: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start containers.",
        discussion: """
            Examples:
              sysbox start web1
              sysbox start web1 web2
              sysbox start --all      # every stopped container

            A paused container is resumed (as LXD does).
            """)

    @Argument(help: "Containers to start.", completion: .containers) var names: [String] = []
    @Flag(help: "Every stopped container.") var all = false

    func run() throws {
        let manager = try CLI.manager()
        let names = try CLI.namesOrAll(names, all: all, manager: manager, status: .stopped)
        try manager.checkContainersExist(names)
        for name in names {
            // As LXD's: a paused container is resumed.
            if manager.runtimeStatus(name).0 == .frozen {
                try manager.resume(name)
                continue
            }
            for warning in try manager.start(name) { CLI.warn(warning) }
        }
    }
}

struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop containers cleanly (the image's stop signal), killing them after a timeout.",
        discussion: """
            Examples:
              sysbox stop web1
              sysbox stop web1 --timeout 5
              sysbox stop web1 --force        # kill at once
              sysbox stop --all               # every running (or paused) container
            """)

    @Argument(help: "Containers to stop.", completion: .containers) var names: [String] = []
    @Flag(help: "Every running container.") var all = false
    @Flag(name: .shortAndLong, help: "Kill the container instead of shutting it down.") var force = false
    @Option(help: "Seconds to wait for a clean shutdown before killing.") var timeout: Double = 30

    func validate() throws {
        if timeout < 0 { throw ValidationError("--timeout must be zero or more seconds") }
    }

    func run() throws {
        let manager = try CLI.manager()
        let names = try CLI.namesOrAll(names, all: all, manager: manager, statuses: [.running, .frozen])
        try manager.checkContainersExist(names)
        for name in names { try manager.stop(name, force: force, timeout: timeout) }
    }
}

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Stop and start running containers again (a stopped one is refused: start it).",
        discussion: """
            Examples:
              sysbox restart web1
              sysbox restart web1 --force
              sysbox restart --all        # every running container
            """)

    @Argument(help: "Containers to restart.", completion: .containers) var names: [String] = []
    @Flag(help: "Every running container.") var all = false
    @Flag(name: .shortAndLong, help: "Kill instead of a clean shutdown.") var force = false
    @Option(help: "Seconds to wait for a clean shutdown before killing.") var timeout: Double = 30

    func run() throws {
        let manager = try CLI.manager()
        let names = try CLI.namesOrAll(names, all: all, manager: manager, status: .running)
        try manager.checkContainersExist(names)
        // As LXD: a stopped container is not started by restart (every name is checked first).
        if let stopped = names.first(where: { manager.runtimeStatus($0).0 == .stopped }) {
            throw SysboxError(.conflict, "container \(stopped) is not running; start it with: sysbox start \(stopped)")
        }
        for name in names {
            for warning in try manager.restart(name, force: force, timeout: timeout) { CLI.warn(warning) }
        }
    }
}
