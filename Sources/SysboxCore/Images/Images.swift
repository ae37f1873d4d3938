import Foundation
import GRDB
import SysboxStore

/// A built image as `image list` shows it.
public struct ImageInfo: Sendable {
    public var fingerprint: String
    public var template: String
    public var aliases: [String]
    public var size: Int64
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var description: String
    /// `$SYSBOX_DIR/images/<fingerprint>`
    public var directory: String
    public var manifest: TemplateManifest

    public var rootfs: String { directory + "/rootfs" }
}

struct Images: StateBound {
    let state: State

    /// The image a container was made from.
    func baseImage(_ db: Database, container: ContainerRecord) throws -> ImageInfo {
        let config = try ConfigTable.containers.load(db, owner: try container.requireID())
        guard let fingerprint = config["volatile.base_image"],
            let record = try ImageRecord.withFingerprint(fingerprint, in: db)
        else {
            throw SysboxError(
                .notFound,
                "the image of container \(container.name) is gone (volatile.base_image \(config["volatile.base_image"] ?? "unset")); delete the container and create it again")
        }
        return try imageInfo(db, record)
    }

    var imagesDirectory: String { stateDirectory + "/images" }

    /// Templates shipped in `Templates/*/template.yaml`, sorted by name.
    public func templates() throws -> [TemplateManifest] {
        guard let dataDirectory else { return [] }
        let dir = dataDirectory + "/Templates"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
        return try names.compactMap { name in
            let path = "\(dir)/\(name)/template.yaml"
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            let manifest = try TemplateManifest.parse(String(decoding: data, as: UTF8.self), file: path)
            guard manifest.name == name else {
                throw SysboxError.invalid("\(path): name \(manifest.name) must match its folder \(name)")
            }
            return manifest
        }
    }

    /// All built images, newest first.
    public func listImages() throws -> [ImageInfo] {
        try read { db in
            try ImageRecord.order(Column("created_at").desc).fetchAll(db).map { try imageInfo(db, $0) }
        }
    }

    func imageInfo(_ db: Database, _ record: ImageRecord) throws -> ImageInfo {
        let aliases = try ImageAliasRecord.names(image: try record.requireID(), in: db)
        let dir = imagesDirectory + "/" + record.fingerprint
        let manifestPath = dir + "/metadata.yaml"
        guard let data = FileManager.default.contents(atPath: manifestPath) else {
            throw SysboxError(
                .io, "image \(record.fingerprint.prefix(12)) is damaged: \(manifestPath) is missing; delete it with: sysbox image delete \(record.fingerprint.prefix(12))")
        }
        let manifest = try TemplateManifest.parse(String(decoding: data, as: UTF8.self), file: manifestPath)
        return ImageInfo(
            fingerprint: record.fingerprint, template: record.template, aliases: aliases, size: record.size,
            createdAt: record.createdAt, lastUsedAt: record.lastUsedAt, description: manifest.description,
            directory: dir, manifest: manifest)
    }

    /// The image an alias or fingerprint (prefix of at least 12 characters) names, if built.
    func findImage(_ db: Database, _ ref: String) throws -> ImageRecord? {
        if let record = try ImageRecord.aliased(ref, in: db) { return record }
        if ref.count >= 12, ref.allSatisfy(\.isHexDigit) {
            let matches = try ImageRecord.withFingerprintPrefix(ref, in: db)
            if matches.count > 1 { throw SysboxError.invalid("image \(ref) is ambiguous; give more of the fingerprint") }
            return matches.first
        }
        return nil
    }

    /// The image `ref` names, building it from its template the first time.
    /// - Throws: `.notFound` listing the templates when neither an image nor a template matches.
    public func resolveImage(_ ref: String, progress: (String) -> Void = { _ in }) throws -> ImageInfo {
        try ImageReference.validate(ref)
        if let info = try read({ db in try findImage(db, ref).map { try imageInfo(db, $0) } }) { return info }
        let all = try templates()
        guard let template = all.first(where: { $0.name == ref || $0.aliases.contains(ref) }) else {
            let known = all.flatMap { [$0.name] + $0.aliases }
            throw SysboxError.notFound(
                "image \(ref) not found\(Suggest.hint(ref, known)); templates: \(Array(Set(known)).sorted().joined(separator: ", ")); sysbox image list shows built images")
        }
        return try buildImage(template: template.name, progress: progress)
    }

    /// Builds an image from a template into `images/.build-<pid>-<uuid>`, fingerprints it (SHA-256 of
    /// a normalised tar stream), renames it to `images/<fingerprint>` and records it; the template's
    /// aliases move to the new image. A failed build removes its directory; one killed half-way is
    /// swept by the next build.
    @discardableResult
    public func buildImage(template name: String, options overrides: [String: String] = [:], progress: (String) -> Void = { _ in }) throws -> ImageInfo {
        guard var manifest = try templates().first(where: { $0.name == name }) else {
            let names = try templates().map(\.name)
            throw SysboxError.notFound("template \(name) not found\(Suggest.hint(name, names)); templates: \(names.joined(separator: ", "))")
        }
        if !overrides.isEmpty {
            guard manifest.builder == "debootstrap" else {
                throw SysboxError.invalid("template \(name) (builder \(manifest.builder)) takes no --mirror")
            }
            manifest.options = (manifest.options ?? [:]).merging(overrides) { _, new in new }
            if let mirror = overrides["mirror"] { _ = try DebootstrapBuilder.mirror(mirror, suite: manifest.options?["suite"] ?? "bookworm") }
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: imagesDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        sweepImageBuilds()
        let work = "\(imagesDirectory)/.build-\(getpid())-\(UUID().uuidString.prefix(8))"
        let started = Date()
        do {
            try fm.createDirectory(atPath: work, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            if try storageDriver().name == "btrfs" {
                // On btrfs the image is a subvolume: containers are snapshots of it.
                try BtrfsDriver.btrfs(["subvolume", "create", work + "/rootfs"], what: "making the subvolume of image \(name)")
            } else {
                try fm.createDirectory(atPath: work + "/rootfs", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            }
            progress("building image \(name)")
            try Builders.named(manifest.builder).build(into: work + "/rootfs", manifest: manifest) { progress("building image \(name): \($0)") }
            try Host.writeAtomically(try manifest.yaml(), to: work + "/metadata.yaml", mode: 0o644)
            progress("building image \(name): fingerprinting")
            let sum = try Host.run(
                [
                    "bash", "-o", "pipefail", "-c",
                    "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C \"$1\" -cf - . | sha256sum",
                    "bash", work + "/rootfs"
                ], what: "fingerprinting image \(name)")
            let fingerprint = String(sum.prefix(64))
            guard fingerprint.count == 64, fingerprint.allSatisfy(\.isHexDigit) else {
                throw SysboxError(.io, "fingerprinting image \(name): unexpected output \(sum)")
            }
            let size = Int64(Self.treeSize(work + "/rootfs"))
            let final = imagesDirectory + "/" + fingerprint
            if fm.fileExists(atPath: final) {
                try Host.removeTree(work)
            } else if rename(work, final) != 0 {
                // Another process built the same image at the same moment and moved it first: same
                // fingerprint, same content; keep theirs.
                guard errno == ENOTEMPTY || errno == EEXIST, fm.fileExists(atPath: final + "/metadata.yaml") else {
                    throw SysboxError(.io, "cannot move the image into \(final): \(Host.errnoText(errno))")
                }
                try Host.removeTree(work)
            }
            try write { db in
                var record =
                    try ImageRecord.withFingerprint(fingerprint, in: db)
                    ?? ImageRecord(fingerprint: fingerprint, template: name, size: size)
                if record.id == nil { try record.insert(db) }
                let id = try record.requireID()
                for alias in [manifest.name] + manifest.aliases { try ImageAliasRecord.set(alias, image: id, in: db) }
            }
            progress(
                String(
                    format: "built image %@ (%@, %.1f MB) in %.1f s", name, String(fingerprint.prefix(12)),
                    Double(size) / 1e6, Date().timeIntervalSince(started)))
            return try read { db in
                try imageInfo(db, try ImageRecord.withFingerprint(fingerprint, in: db).unwrap("image \(fingerprint)"))
            }
        } catch {
            try? Host.removeTree(work)
            if let e = error as? SysboxError, e.code != .io { throw e }
            throw SysboxError(.io, "cannot build image \(name): \(Host.describe(error)); nothing was kept")
        }
    }

    /// Removes `.build-*` directories of builds whose process is gone.
    func sweepImageBuilds() {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: imagesDirectory)) ?? []
        for entry in entries where entry.hasPrefix(".build-") {
            let pid = Int32(entry.split(separator: "-").dropFirst().first ?? "") ?? 0
            if pid > 0, kill(pid, 0) == 0 || errno == EPERM { continue }
            try? Host.removeTree(imagesDirectory + "/" + entry)
        }
    }

    /// Deletes an image that no container uses.
    public func deleteImage(_ ref: String) throws {
        try ImageReference.validate(ref)
        let fingerprint: String = try write { db in
            guard let record = try findImage(db, ref) else {
                throw SysboxError.notFound("image \(ref) not found; sysbox image list shows the images")
            }
            let users = try ContainerRecord.names(usingImage: record.fingerprint, in: db)
            guard users.isEmpty else {
                throw SysboxError(.inUse, "image \(ref) is used by \(users.count) container\(users.count == 1 ? "" : "s"): \(users.joined(separator: ", ")); delete them first")
            }
            _ = try record.delete(db)
            return record.fingerprint
        }
        try Host.removeTree(imagesDirectory + "/" + fingerprint)
    }

    /// Points `alias` at the image `target` names (replacing an alias of the same name).
    /// - Returns: the fingerprint of the image the alias now names.
    /// - Throws: `.alreadyExists` when the alias names an image already (as in LXD: delete it first).
    @discardableResult
    public func setImageAlias(_ alias: String, target: String) throws -> String {
        try ImageReference.validate(alias)
        return try write { db in
            guard let record = try findImage(db, target) else { throw SysboxError.notFound("image \(target) not found") }
            if let existing = try findImage(db, alias), try ImageAliasRecord.names(image: try existing.requireID(), in: db).contains(alias) {
                throw SysboxError(
                    .alreadyExists,
                    "image alias \(alias) already exists (image \(existing.fingerprint.prefix(12))); delete it first with: sysbox image alias delete \(alias)")
            }
            try ImageAliasRecord.set(alias, image: try record.requireID(), in: db)
            return record.fingerprint
        }
    }

    /// Renames an alias (it keeps pointing at its image).
    /// - Throws: `.notFound` for a missing alias, `.alreadyExists` when `new` names an image already.
    public func renameImageAlias(_ old: String, to new: String) throws {
        try ImageReference.validate(old)
        try ImageReference.validate(new)
        try write { db in
            guard let image = try ImageRecord.aliased(old, in: db) else { throw SysboxError.notFound("image alias \(old) not found") }
            if let existing = try ImageRecord.aliased(new, in: db) {
                throw SysboxError(
                    .alreadyExists,
                    "image alias \(new) already exists (image \(existing.fingerprint.prefix(12))); delete it first with: sysbox image alias delete \(new)")
            }
            _ = try ImageAliasRecord.delete(named: old, in: db)
            try ImageAliasRecord.set(new, image: try image.requireID(), in: db)
        }
    }

    /// Removes an alias (the image stays).
    public func deleteImageAlias(_ alias: String) throws {
        try ImageReference.validate(alias)
        try write { db in
            guard try ImageAliasRecord.delete(named: alias, in: db) else { throw SysboxError.notFound("image alias \(alias) not found") }
        }
    }

    /// Bytes of regular files under `path`, symlinks not followed.
    static func treeSize(_ path: String) -> UInt64 {
        var total: UInt64 = 0
        guard let e = FileManager.default.enumerator(atPath: path) else { return 0 }
        for case let rel as String in e {
            var st = stat()
            if lstat(path + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += UInt64(st.st_size) }
        }
        return total
    }
}

extension Optional {
    func unwrap(_ what: String) throws -> Wrapped {
        guard let self else { throw SysboxError(.internalError, "\(what) disappeared") }
        return self
    }
}
