import Foundation
import GRDB
import Logging
import SysboxStore

/// One state directory: its database, its folders and the shipped files it was opened with. Every part
/// of the manager works on one `State`; two states on different directories share nothing.
public final class State: Sendable {
    public let store: Store
    public let stateDirectory: String
    public let dataDirectory: String?
    static let logger = Logger(label: "sysbox.manager")

    /// Opens (creating and migrating) the database of `stateDirectory`. Runs no recovery and imports
    /// nothing: see `Manager.init` and `Recovery`.
    /// - Throws: `StoreError` for an unusable database.
    init(stateDirectory: String, dataDirectory: String?, busyTimeout: Double) throws {
        self.stateDirectory = stateDirectory
        self.dataDirectory = dataDirectory
        store = try Store(directory: stateDirectory, busyTimeout: busyTimeout)
    }
}

/// A part of the manager that owns one responsibility (containers, the runtime, snapshots, networks…)
/// and works on one `State`. The extension below is the shared database view: transactions with errors
/// mapped to `SysboxError`, the lookups every part needs, and the paths of a container.
protocol StateBound: Sendable {
    var state: State { get }
}

extension StateBound {
    var store: Store { state.store }
    var stateDirectory: String { state.stateDirectory }
    var dataDirectory: String? { state.dataDirectory }
    static var logger: Logger { State.logger }

    /// Milliseconds between two instants, for debug logs.
    static func ms(_ a: DispatchTime, _ b: DispatchTime) -> String { Timing.ms(a, b) }

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
        let names = try ContainerRecord.allNames(in: db)
        throw SysboxError.notFound("container \(name) not found\(Suggest.hint(name, names, then: "run sysbox list to see the containers"))")
    }

    func profile(_ db: Database, _ name: String) throws -> ProfileRecord {
        if let record = try ProfileRecord.named(name, in: db) { return record }
        let names = try ProfileRecord.allNames(in: db)
        throw SysboxError.notFound("profile \(name) not found\(Suggest.hint(name, names, then: "run sysbox profile list to see the profiles"))")
    }

    func layer(_ db: Database, profile id: Int64) throws -> ConfigLayer {
        ConfigLayer(config: try ConfigTable.profiles.load(db, owner: id), devices: try DeviceTable.profiles.load(db, owner: id))
    }

    func layer(_ db: Database, container id: Int64) throws -> ConfigLayer {
        ConfigLayer(config: try ConfigTable.containers.load(db, owner: id), devices: try DeviceTable.containers.load(db, owner: id))
    }

    /// The expanded config of a container whose own layer is `local` and profile list `profiles`.
    func expanded(_ db: Database, profiles: [ProfileRecord], local: ConfigLayer) throws -> ConfigLayer {
        Expansion.expand(profiles: try profiles.map { try layer(db, profile: try $0.requireID()) }, local: local)
    }

    /// Checks that a container whose expansion is `expanded` could start: devices fit together and
    /// there is exactly one root disk.
    func validateExpanded(_ expanded: ConfigLayer, container name: String) throws {
        do {
            try Devices.validateSet(expanded.devices, requireRoot: true)
        } catch let error as SysboxError {
            throw SysboxError.invalid("container \(name): \(error.message)", cause: error)
        }
    }

    // MARK: - Files

    func paths(_ name: String) -> ContainerPaths { ContainerPaths(stateDirectory: stateDirectory, name: name) }

    var containersDirectory: String { stateDirectory + "/containers" }

    var imagesDirectory: String { stateDirectory + "/images" }

    /// The storage driver of this state directory: chosen once (btrfs when the state directory is on
    /// btrfs, else overlay where the kernel has it, else dir; `$SYSBOX_STORAGE_DRIVER` overrides the
    /// first choice) and recorded in the settings.
    func storageDriver() throws -> StorageDriver {
        if let name = try read({ db in try Settings.get(db, "storage.driver") }) { return try StorageDrivers.named(name) }
        let wanted =
            ProcessInfo.processInfo.environment["SYSBOX_STORAGE_DRIVER"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (BtrfsDriver.isBtrfs(stateDirectory) ? "btrfs" : OverlayDriver.supported ? "overlay" : "dir")
        let driver = try StorageDrivers.named(wanted)
        try write { db in
            if try Settings.get(db, "storage.driver") == nil { try Settings.set(db, "storage.driver", driver.name) }
        }
        return try StorageDrivers.named(try read { db in try Settings.get(db, "storage.driver") } ?? driver.name)
    }

    // MARK: - The parts, for a part that uses another

    var containers: Containers { Containers(state: state) }
    var runtime: ContainerRuntime { ContainerRuntime(state: state) }
    var snapshots: Snapshots { Snapshots(state: state) }
    var networks: Networks { Networks(state: state) }
    var images: Images { Images(state: state) }
    var profiles: Profiles { Profiles(state: state) }
    var configEditor: ConfigEditor { ConfigEditor(state: state) }
    var liveConfig: LiveConfig { LiveConfig(state: state) }
    var files: ContainerFiles { ContainerFiles(state: state) }
    var schedule: SnapshotSchedule { SnapshotSchedule(state: state) }
    var copies: Copies { Copies(state: state) }
    var storageReport: StorageReport { StorageReport(state: state) }
    var nics: NICs { NICs(state: state) }
    var recovery: Recovery { Recovery(state: state) }
    var execs: ContainerExec { ContainerExec(state: state) }
    var console: ContainerConsole { ContainerConsole(state: state) }
    var idmaps: IDMaps { IDMaps(state: state) }
}

/// Timings for debug logs.
enum Timing {
    /// Milliseconds between two instants.
    static func ms(_ a: DispatchTime, _ b: DispatchTime) -> String {
        String(format: "%.2f", Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e6)
    }
}
