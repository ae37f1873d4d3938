import ArgumentParser
import Foundation
import SysboxCore

struct FileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "file",
        abstract: "Copy files into and out of a container (running or stopped), or edit one.",
        discussion: """
            Paths inside the container are resolved inside it: its symlinks are its own and `..` stops at its /, so nothing outside the container is ever read or written.

            Examples:
              sysbox file push ./app.conf web1/etc/app/
              sysbox file push -p --mode 0600 ./key web1/root/.ssh/authorized_keys
              sysbox file pull web1/var/log/syslog .
              sysbox file edit web1/etc/hosts
              sysbox file create -p --type directory web1/srv/www
              sysbox file delete -f web1/srv/www
            """,
        subcommands: [FilePush.self, FilePull.self, FileEdit.self, FileCreate.self, FileDelete.self]
    )

    /// `NAME/PATH` → (NAME, /PATH).
    static func split(_ spec: String) throws -> (String, String) {
        guard let slash = spec.firstIndex(of: "/"), slash != spec.startIndex else {
            throw SysboxError(.invalidArgument, "expected CONTAINER/PATH (e.g. web1/etc/hosts), got \(Names.quote(spec))")
        }
        return (String(spec[..<slash]), String(spec[slash...]))
    }
}

struct FilePush: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Copy local files into a container.",
        discussion: """
            The target is a file path, or a directory (ending in / or existing) that receives the files and trees (-r) under their own names; a target ending in / that does not exist is made (mode 0755, root), and -p makes its missing parents too. Owner root:root and the local file's mode unless --uid, --gid or --mode say otherwise.

            Examples:
              sysbox file push ./app.conf web1/etc/app.conf
              sysbox file push a.txt b.txt web1/root/
              sysbox file push -r ./site web1/srv/www/      # makes /srv/www/site
              sysbox file push -p --uid 1000 --gid 1000 --mode 0640 notes web1/home/user/docs/notes
            """)

    @Argument(help: "Local files, then CONTAINER/PATH.", completion: .containerPaths) var paths: [String] = []
    @Flag(name: [.customShort("p"), .customLong("create-dirs")], help: "Create missing directories in the container.") var createDirs = false
    @Flag(name: [.short, .customLong("recursive")], help: "Copy directories with what they hold.") var recursive = false
    @Option(help: "Owner UID in the container.") var uid: UInt32 = 0
    @Option(help: "Group GID in the container.") var gid: UInt32 = 0
    @Option(help: "Mode (octal, e.g. 0644).") var mode: String?

    func validate() throws {
        if paths.count < 2 { throw ValidationError("give local files and then CONTAINER/PATH") }
        if let mode, UInt32(mode, radix: 8).map({ $0 <= 0o7777 }) != true { throw ValidationError("--mode must be octal, like 0644") }
    }

    func run() throws {
        let (name, target) = try FileCommand.split(paths[paths.count - 1])
        let sources = Array(paths.dropLast())
        let manager = try CLI.manager()
        for source in sources {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
                throw SysboxError(.notFound, "cannot read \(source): no such file")
            }
            if isDirectory.boolValue {
                guard recursive else { throw SysboxError(.invalidArgument, "\(source) is a directory; push it with -r") }
                try manager.pushTree(name, local: source, path: target, uid: uid, gid: gid, createParents: createDirs)
                continue
            }
            guard let data = FileManager.default.contents(atPath: source) else { throw SysboxError(.io, "cannot read \(source)") }
            let localMode = ((try? FileManager.default.attributesOfItem(atPath: source))?[.posixPermissions] as? NSNumber)?.uint32Value ?? 0o644
            let into = sources.count > 1 && !target.hasSuffix("/") ? target + "/" : target
            try manager.pushFile(
                name, path: into, data: data, fileName: (source as NSString).lastPathComponent,
                mode: mode_t(mode.flatMap { UInt32($0, radix: 8) } ?? localMode), uid: uid, gid: gid, createParents: createDirs)
        }
    }
}

struct FilePull: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Copy files out of a container.",
        discussion: """
            The local target is a file path, a directory that receives the files under their own names, or - for standard output.

            Examples:
              sysbox file pull web1/etc/hosts ./hosts
              sysbox file pull web1/etc/hostname web1/etc/os-release .
              sysbox file pull web1/etc/os-release -
            """)

    @Argument(help: "CONTAINER/PATH…, then the local target.", completion: .containerPaths) var paths: [String] = []
    @Flag(name: [.short, .customLong("recursive")], help: "Copy directories with what they hold (into a new local path, or into a local directory).") var recursive = false

    func validate() throws {
        if paths.count < 2 { throw ValidationError("give CONTAINER/PATH and then a local file, directory or -") }
    }

    func run() throws {
        let target = paths[paths.count - 1]
        let manager = try CLI.manager()
        var isDirectory: ObjCBool = false
        let toDirectory = FileManager.default.fileExists(atPath: target, isDirectory: &isDirectory) && isDirectory.boolValue
        if paths.count > 2 && !toDirectory && target != "-" { throw SysboxError(.invalidArgument, "\(target) is not a directory; several files need a directory to go into") }
        for spec in paths.dropLast() {
            let (name, path) = try FileCommand.split(spec)
            if recursive {
                guard target != "-" else { throw SysboxError(.invalidArgument, "-r needs a local directory, not -") }
                let local = toDirectory ? (target as NSString).appendingPathComponent((path as NSString).lastPathComponent) : target
                try manager.pullTree(name, path: path, to: local)
                continue
            }
            let file = try manager.pullFile(name, path: path)
            if target == "-" {
                FileHandle.standardOutput.write(file.data)
                continue
            }
            let local = toDirectory ? (target as NSString).appendingPathComponent((path as NSString).lastPathComponent) : target
            guard FileManager.default.createFile(atPath: local, contents: file.data, attributes: [.posixPermissions: Int(file.mode & 0o777)]) else {
                throw SysboxError(.io, "cannot write \(local)")
            }
        }
    }
}

struct FileEdit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edit", abstract: "Edit a file of a container in $VISUAL or $EDITOR (or from standard input).",
        discussion: """
            On a terminal the file opens in $VISUAL, $EDITOR or vi and is written back when the editor exits successfully; otherwise the new content is read from standard input. The owner and mode are kept.

            Examples:
              sysbox file edit web1/etc/hosts
              echo "nameserver 10.0.3.1" | sysbox file edit web1/etc/resolv.conf
            """)

    @Argument(help: "CONTAINER/PATH.", completion: .containerPaths) var spec: String

    func run() throws {
        let (name, path) = try FileCommand.split(spec)
        let manager = try CLI.manager()
        let file = try manager.pullFile(name, path: path)
        let data: Data
        if CLI.stdinIsTerminal {
            let tmp = NSTemporaryDirectory() + "sysbox-edit-\(UUID().uuidString.prefix(8))-" + (path as NSString).lastPathComponent
            guard FileManager.default.createFile(atPath: tmp, contents: file.data, attributes: [.posixPermissions: 0o600]) else {
                throw SysboxError(.io, "cannot write \(tmp)")
            }
            defer { try? FileManager.default.removeItem(atPath: tmp) }
            let env = ProcessInfo.processInfo.environment
            let editor = env["VISUAL"].flatMap { $0.isEmpty ? nil : $0 } ?? env["EDITOR"].flatMap { $0.isEmpty ? nil : $0 } ?? "vi"
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "\(editor) \"$1\"", "sh", tmp]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw SysboxError(.io, "the editor exited with status \(process.terminationStatus); \(path) was not changed") }
            data = FileManager.default.contents(atPath: tmp) ?? Data()
        } else {
            data = FileHandle.standardInput.readDataToEndOfFile()
            guard !data.isEmpty else {
                throw SysboxError(.invalidArgument, "standard input is empty: \(path) was not changed (without a terminal, edit reads the new content from standard input)")
            }
        }
        try manager.pushFile(
            name, path: path, data: data, fileName: (path as NSString).lastPathComponent,
            mode: file.mode, uid: file.uid, gid: file.gid, createParents: false)
    }
}
