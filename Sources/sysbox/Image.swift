import ArgumentParser
import Foundation
import SysboxCore

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Manage images: root filesystems built once from templates, then shared by containers.",
        discussion: """
            Examples:
              sysbox image list
              sysbox image build busybox
              sysbox image alias create mybox busybox
              sysbox image delete busybox
            """,
        subcommands: [ImageList.self, ImageBuild.self, ImageDelete.self, ImageAlias.self])
}

struct ImageList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List built images.",
        discussion: """
            SIZE is in IEC units in the table (1.9MiB), in bytes in csv, json and yaml; CREATED is RFC 3339 UTC in csv, json and yaml.

            Example:
              sysbox image list --format json
            """, aliases: ["ls"])

    @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
    var format: String = "table"

    struct Entry: Encodable {
        var fingerprint: String
        var aliases: [String]
        var template: String
        var description: String
        var size: Int64
        var created_at: String
    }

    func run() throws {
        let format = try OutputFormat(parsing: format)
        let images = try CLI.manager().listImages()
        let cells: [[TableCell]] = images.map {
            [.text(String($0.fingerprint.prefix(12))), .list($0.aliases), .text($0.description), .bytes(UInt64(max(0, $0.size))), .time($0.createdAt)]
        }
        let objects = images.map {
            Entry(
                fingerprint: $0.fingerprint, aliases: $0.aliases, template: $0.template,
                description: $0.description, size: $0.size, created_at: MachineTime.string($0.createdAt))
        }
        try CLI.printTable(format, headers: ["FINGERPRINT", "ALIASES", "DESCRIPTION", "SIZE", "CREATED"], cells: cells, objects: objects)
    }
}

struct ImageBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build", abstract: "Build (or rebuild) an image from a template.",
        discussion: """
            A debootstrap template (debian) downloads from the mirror of the host's APT configuration unless the template or --mirror names one. A failed or interrupted build keeps nothing.

            Examples:
              sysbox image build busybox
              sysbox image build debian
              sysbox image build debian --mirror http://deb.debian.org/debian
            """)

    @Argument(help: "Template name.", completion: .list(["busybox", "debian", "debian-13"])) var template: String
    @Option(help: "Debian mirror URL (debootstrap templates).") var mirror: String?

    func run() throws {
        let image = try CLI.manager().buildImage(template: template, options: mirror.map { ["mirror": $0] } ?? [:], progress: CLI.progress)
        CLI.out("Image \(template) built: \(image.fingerprint.prefix(12))\n")
    }
}

struct ImageDelete: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete an image no container uses.",
        discussion: "Example:\n  sysbox image delete busybox", aliases: ["rm"])

    @Argument(help: "Alias or fingerprint (at least 12 characters).", completion: .images) var image: String

    func run() throws {
        try CLI.manager().deleteImage(image)
    }
}

struct ImageAlias: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias", abstract: "Create, list, rename or delete image aliases.",
        discussion:
            "Examples:\n  sysbox image alias create mybox busybox\n  sysbox image alias list\n  sysbox image alias rename mybox tinybox\n  sysbox image alias delete tinybox",
        subcommands: [Create.self, List.self, Rename.self, Delete.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List image aliases and the image each names.",
            discussion: "Example:\n  sysbox image alias list --format json", aliases: ["ls"])
        @Option(name: [.short, .customLong("format")], help: "table, json, yaml or csv (table and csv take ,noheader).")
        var format: String = "table"

        struct Entry: Encodable {
            var name: String
            var fingerprint: String
            var description: String
        }

        func run() throws {
            let format = try OutputFormat(parsing: format)
            let entries = try CLI.manager().listImages().flatMap { image in
                image.aliases.map { Entry(name: $0, fingerprint: image.fingerprint, description: image.description) }
            }.sorted { $0.name < $1.name }
            let cells: [[TableCell]] = entries.map { [.text($0.name), .text(String($0.fingerprint.prefix(12))), .text($0.description)] }
            try CLI.printTable(format, headers: ["ALIAS", "FINGERPRINT", "DESCRIPTION"], cells: cells, objects: entries)
        }
    }

    struct Rename: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rename", abstract: "Rename an alias (it keeps naming its image).",
            discussion: "Example:\n  sysbox image alias rename mybox tinybox")
        @Argument(help: "Alias.") var alias: String
        @Argument(help: "New name.") var new: String
        func run() throws {
            try CLI.manager().renameImageAlias(alias, to: new)
            CLI.out("Alias \(alias) renamed to \(new)\n")
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Point an alias at an image.",
            discussion: "Example:\n  sysbox image alias create mybox busybox")
        @Argument(help: "New alias.") var alias: String
        @Argument(help: "Image alias or fingerprint.") var target: String
        func run() throws {
            let fingerprint = try CLI.manager().setImageAlias(alias, target: target)
            CLI.out("Alias \(alias) created for image \(fingerprint.prefix(12))\n")
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Remove an alias (the image stays).",
            discussion: "Example:\n  sysbox image alias delete mybox")
        @Argument(help: "Alias.") var alias: String
        func run() throws {
            try CLI.manager().deleteImageAlias(alias)
            CLI.out("Alias \(alias) deleted\n")
        }
    }
}
