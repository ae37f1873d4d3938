import ArgumentParser
import Foundation
import SysboxCore

struct Pause: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Freeze every process of running containers (status FROZEN) until resume.",
        discussion: """
            As LXD's `lxc pause`: the cgroup freezer stops the container's processes where they are (memory stays in use, the network does not answer). exec is refused meanwhile; snapshots and copies leave it frozen; stop and restart thaw it first.

            Examples:
              sysbox pause web1
              sysbox pause --all      # every running container
            """,
        aliases: ["freeze"])

    @Argument(help: "Containers to pause.", completion: .containers) var names: [String] = []
    @Flag(help: "Every running container.") var all = false

    func run() throws {
        let manager = try CLI.manager()
        let names = try CLI.namesOrAll(names, all: all, manager: manager, status: .running)
        try manager.checkContainersExist(names)
        for name in names { try manager.pause(name) }
    }
}

struct Resume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Thaw paused containers.",
        discussion: """
            Examples:
              sysbox resume web1
              sysbox resume --all     # every paused container
            """,
        aliases: ["unfreeze"])

    @Argument(help: "Containers to resume.", completion: .containers) var names: [String] = []
    @Flag(help: "Every paused container.") var all = false

    func run() throws {
        let manager = try CLI.manager()
        let names = try CLI.namesOrAll(names, all: all, manager: manager, status: .frozen)
        try manager.checkContainersExist(names)
        for name in names { try manager.resume(name) }
    }
}
