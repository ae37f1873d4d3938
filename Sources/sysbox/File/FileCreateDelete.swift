import ArgumentParser
import Foundation
import SysboxCore

struct FileCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create an empty file, a directory or a symlink in a container.",
        discussion: """
            As LXD's `lxc file create`. The path is resolved inside the container (its symlinks are its own); a symlink's target is stored as given. Owner root:root and mode 0644 (files) or 0755 (directories) unless --uid, --gid or --mode say otherwise. An existing path is an error unless -f: then a file is emptied, a directory gets the owner and mode, a symlink is replaced.

            Examples:
              sysbox file create web1/etc/app/enabled
              sysbox file create -p --type directory --mode 0750 web1/srv/data/cache
              sysbox file create --type symlink web1/etc/app/current /srv/app/v2
            """)

    @Argument(help: "CONTAINER/PATH, then (for --type symlink) the link's target.", completion: .containerPaths) var arguments: [String] = []
    @Option(help: "What to create: file, directory or symlink.") var type: String = "file"
    @Flag(name: [.customShort("p"), .customLong("create-dirs")], help: "Create missing directories in the container.") var createDirs = false
    @Flag(name: [.short, .customLong("force")], help: "Overwrite what is there (of the same type).") var force = false
    @Option(help: "Owner UID in the container.") var uid: UInt32 = 0
    @Option(help: "Group GID in the container.") var gid: UInt32 = 0
    @Option(help: "Mode (octal, e.g. 0644).") var mode: String?

    func run() throws {
        guard let kind = FileEntryType(rawValue: type) else {
            let types = FileEntryType.allCases.map(\.rawValue)
            throw SysboxError(
                .invalidArgument,
                "--type \(Names.quote(type)) is not a type\(Suggest.hint(type, types, then: "use one of \(types.joined(separator: ", "))"))")
        }
        guard let spec = arguments.first, arguments.count <= 2 else {
            throw SysboxError(.invalidArgument, "give CONTAINER/PATH (and a target for --type symlink), e.g. sysbox file create web1/etc/app/enabled")
        }
        let parsedMode = try mode.map { text -> mode_t in
            guard let m = UInt32(text, radix: 8), m <= 0o7777 else { throw SysboxError(.invalidArgument, "--mode \(Names.quote(text)) is not an octal mode; use e.g. 0644") }
            return mode_t(m)
        }
        let (name, path) = try FileCommand.split(spec)
        try CLI.manager().createEntry(
            name, path: path, type: kind, target: arguments.count == 2 ? arguments[1] : nil, mode: parsedMode, uid: uid, gid: gid,
            createParents: createDirs, force: force)
    }
}

struct FileDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete files, symlinks or directories in a container.",
        discussion: """
            As LXD's `lxc file delete`. A symlink is removed, never what it points to; a directory only when empty, or with -f together with everything below it (never crossing into a disk device's filesystem).

            Examples:
              sysbox file delete web1/tmp/build.log
              sysbox file delete -f web1/srv/old-site
            """,
        aliases: ["rm"])

    @Argument(help: "CONTAINER/PATH…", completion: .containerPaths) var specs: [String] = []
    @Flag(name: [.short, .customLong("force")], help: "Delete directories with what they hold.") var force = false

    func validate() throws {
        if specs.isEmpty { throw ValidationError("give CONTAINER/PATH, e.g. sysbox file delete web1/tmp/x") }
    }

    func run() throws {
        let manager = try CLI.manager()
        for spec in specs {
            let (name, path) = try FileCommand.split(spec)
            try manager.deleteEntry(name, path: path, force: force)
        }
    }
}
