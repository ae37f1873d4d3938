import Foundation
import GRDB
import Logging
import SysboxStore

/// The container manager: the one entry point the CLI uses. It owns the state database of one state
/// directory; two managers on different directories share nothing.
public final class Manager: Sendable {
    public let store: Store
    public let stateDirectory: String
    public let dataDirectory: String?
    static let logger = Logger(label: "sysbox.manager")

    /// Opens the state directory (creating and migrating its database) and imports the shipped profiles
    /// from `dataDirectory/Profiles` the first time.
    /// - Throws: `StoreError` for an unusable database; `SysboxError` when the shipped profiles are missing
    ///   or malformed.
    public init(stateDirectory: String, dataDirectory: String?, busyTimeout: Double = 10) throws {
        self.stateDirectory = stateDirectory
        self.dataDirectory = dataDirectory
        let started = DispatchTime.now()
        store = try Store(directory: stateDirectory, busyTimeout: busyTimeout)
        let opened = DispatchTime.now()
        try seedProfiles()
        try recoverInterruptedOperations()
        // A build killed half-way leaves its directory: gone at the next command, not the next build.
        sweepImageBuilds()
        Self.logger.debug("manager ready", metadata: [
            "open_ms": "\(Self.ms(started, opened))", "total_ms": "\(Self.ms(started, .now()))", "dir": "\(stateDirectory)"])
    }

    /// Milliseconds between two instants, for debug logs.
    static func ms(_ a: DispatchTime, _ b: DispatchTime) -> String {
        String(format: "%.2f", Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e6)
    }

    /// The settings key marking that the shipped profiles were imported (once, at first use).
    static let seededKey = "profiles.seeded"

    private func seedProfiles() throws {
        if try read({ db in try Settings.get(db, Self.seededKey) }) != nil { return }
        let files = try shippedProfiles()
        try write { db in
            if try Settings.get(db, Self.seededKey) != nil { return }  // another process won the race
            for (name, doc) in files where try ProfileRecord.named(name, in: db) == nil {
                var record = ProfileRecord(name: name, description: doc.description)
                try record.insert(db)
                try ConfigTable.profiles.replace(db, owner: record.id ?? 0, with: doc.layer.config)
                try DeviceTable.profiles.replace(db, owner: record.id ?? 0, with: doc.layer.devices)
            }
            try Settings.set(db, Self.seededKey, ISO8601DateFormatter().string(from: Date()))
            Self.logger.debug("imported shipped profiles", metadata: ["count": "\(files.count)"])
        }
    }

    /// Parses `Profiles/*.yaml` of the data directory; `default.yaml` must be among them.
    func shippedProfiles() throws -> [(String, ProfileDocument)] {
        guard let dataDirectory else {
            throw SysboxError(.io, "cannot find sysbox's shipped files (Profiles/, Templates/): looked next to the binary and in PREFIX/share/sysbox; set SYSBOX_DATA_DIR to the directory that holds Profiles/")
        }
        let dir = (dataDirectory as NSString).appendingPathComponent("Profiles")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".yaml") }.sorted()
        guard names.contains("default.yaml") else {
            throw SysboxError(.io, "\(dir)/default.yaml is missing; it defines the default profile (root disk and eth0); restore it or set SYSBOX_DATA_DIR")
        }
        return try names.map { file in
            let path = (dir as NSString).appendingPathComponent(file)
            let name = String(file.dropLast(".yaml".count))
            try Names.validate(name, as: .profile)
            let text: String
            do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
                throw SysboxError(.io, "cannot read \(path): \(error.localizedDescription)")
            }
            return (name, try ProfileYAML.parse(text, file: path))
        }
    }

    // MARK: - Database access with errors mapped to SysboxError

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try mapped { try store.read(body) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try mapped { try store.write(body) }
    }

    private func mapped<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw SysboxError(.database, "database \(store.path): \(error.message ?? "\(error)")", cause: error)
        }
    }

    // MARK: - Lookups

    func container(_ db: Database, _ name: String) throws -> ContainerRecord {
        if let record = try ContainerRecord.named(name, in: db) { return record }
        let names = try String.fetchAll(db, sql: "SELECT name FROM containers")
        throw SysboxError.notFound("container \(name) not found\(Suggest.hint(name, names, then: "sysbox list shows the containers"))")
    }

    func profile(_ db: Database, _ name: String) throws -> ProfileRecord {
        if let record = try ProfileRecord.named(name, in: db) { return record }
        let names = try String.fetchAll(db, sql: "SELECT name FROM profiles")
        throw SysboxError.notFound("profile \(name) not found\(Suggest.hint(name, names, then: "sysbox profile list shows the profiles"))")
    }

    func layer(_ db: Database, profile id: Int64) throws -> ConfigLayer {
        ConfigLayer(config: try ConfigTable.profiles.load(db, owner: id), devices: try DeviceTable.profiles.load(db, owner: id))
    }

    func layer(_ db: Database, container id: Int64) throws -> ConfigLayer {
        ConfigLayer(config: try ConfigTable.containers.load(db, owner: id), devices: try DeviceTable.containers.load(db, owner: id))
    }

    /// The expanded config of a container whose own layer is `local` and profile list `profiles`.
    func expanded(_ db: Database, profiles: [ProfileRecord], local: ConfigLayer) throws -> ConfigLayer {
        Expansion.expand(profiles: try profiles.map { try layer(db, profile: $0.id ?? 0) }, local: local)
    }

    /// Checks that a container whose expansion is `expanded` could start: devices fit together and
    /// there is exactly one root disk.
    func validateExpanded(_ expanded: ConfigLayer, container name: String) throws {
        do {
            try Devices.validateSet(expanded.devices, requireRoot: true)
        } catch let error as SysboxError {
            throw SysboxError.invalid("container \(name): \(error.message)")
        }
    }
}
