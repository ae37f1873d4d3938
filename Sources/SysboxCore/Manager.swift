import Foundation
import Logging
import SysboxStore

/// The container manager: the one entry point the CLI uses, a thin facade over the parts that each own
/// one responsibility (`Containers`, `ContainerRuntime`, `Snapshots`, `Copies`, `Networks`, `NICs`,
/// `Images`, `Profiles`, `ConfigEditor`, `ContainerFiles`, `Recovery`, …), all working on one `State`
/// (the database and folders of one state directory); two managers on different directories share
/// nothing.
public final class Manager: StateBound {
    public let state: State
    public var store: Store { state.store }
    public var stateDirectory: String { state.stateDirectory }
    public var dataDirectory: String? { state.dataDirectory }

    /// Opens the state directory (creating and migrating its database) and imports the shipped profiles
    /// from `dataDirectory/Profiles` the first time. Runs no recovery: commands that read or change
    /// containers call `recover()` first (the monitors do not).
    /// - Throws: `StoreError` for an unusable database; `SysboxError` when the shipped profiles are missing
    ///   or malformed.
    public init(stateDirectory: String, dataDirectory: String?, busyTimeout: Double = 10) throws {
        let started = DispatchTime.now()
        state = try State(stateDirectory: stateDirectory, dataDirectory: dataDirectory, busyTimeout: busyTimeout)
        let opened = DispatchTime.now()
        try Profiles(state: state).seedShipped()
        Self.logger.debug(
            "manager ready",
            metadata: [
                "open_ms": "\(Self.ms(started, opened))", "total_ms": "\(Self.ms(started, .now()))", "dir": "\(stateDirectory)"
            ])
    }

    /// Finishes or undoes the operations a killed command left half-done and removes half-built images
    /// (`Recovery.run`).
    public func recover() throws { try Recovery(state: state).run() }

    // MARK: - Containers

    /// Forwards to `containers.createContainer`.
    @discardableResult
    public func createContainer(_ request: CreateRequest, progress: (String) -> Void = { _ in }, checked: () -> Void = {}) throws -> ContainerView {
        try containers.createContainer(request, progress: progress, checked: checked)
    }
    /// Forwards to `containers.deleteContainers`.
    public func deleteContainers(_ names: [String], force: Bool = false) throws { try containers.deleteContainers(names, force: force) }
    /// Forwards to `containers.checkContainersExist`.
    public func checkContainersExist(_ names: [String]) throws { try containers.checkContainersExist(names) }
    /// Forwards to `containers.containerView`.
    public func containerView(_ name: String) throws -> ContainerView { try containers.containerView(name) }
    /// Forwards to `containers.listContainers`.
    public func listContainers() throws -> [ContainerView] { try containers.listContainers() }
    /// Forwards to `containers.containerNames`.
    public func containerNames() throws -> [String] { try containers.containerNames() }
    /// Forwards to `containers.assignProfiles`.
    @discardableResult
    public func assignProfiles(container name: String, profiles names: [String]) throws -> [String] { try containers.assignProfiles(container: name, profiles: names) }
    /// Forwards to `containers.containerDocument`.
    public func containerDocument(_ name: String) throws -> ProfileDocument { try containers.containerDocument(name) }
    /// Forwards to `containers.updateContainer`.
    @discardableResult
    public func updateContainer(_ name: String, _ doc: ProfileDocument) throws -> [String] { try containers.updateContainer(name, doc) }
    /// Forwards to `containers.profiles`.
    public func profiles(of name: String) throws -> [String] { try containers.profiles(of: name) }
    /// Forwards to `containers.renameContainer`.
    public func renameContainer(_ old: String, to new: String) throws { try containers.renameContainer(old, to: new) }

    // MARK: - ContainerRuntime

    /// Forwards to `runtime.liveState`.
    public func liveState(_ name: String) -> LiveState? { runtime.liveState(name) }
    /// Forwards to `runtime.runtimeStatus`.
    public func runtimeStatus(_ name: String) -> (ContainerStatus, Int32?) { runtime.runtimeStatus(name) }
    /// Forwards to `runtime.start`.
    @discardableResult
    public func start(_ name: String) throws -> [String] { try runtime.start(name) }
    /// Forwards to `runtime.stop`.
    public func stop(_ name: String, force: Bool = false, timeout: Double = 30) throws { try runtime.stop(name, force: force, timeout: timeout) }
    /// Forwards to `runtime.restart`.
    public func restart(_ name: String, force: Bool = false, timeout: Double = 30) throws -> [String] { try runtime.restart(name, force: force, timeout: timeout) }
    /// Forwards to `runtime.pause`.
    public func pause(_ name: String) throws { try runtime.pause(name) }
    /// Forwards to `runtime.resume`.
    public func resume(_ name: String) throws { try runtime.resume(name) }
    /// Forwards to `runtime.lastStop`.
    public func lastStop(_ name: String) -> String? { runtime.lastStop(name) }
    /// Forwards to `runtime.runtimeLog`.
    public func runtimeLog(_ name: String) -> String { runtime.runtimeLog(name) }
    /// Forwards to `runtime.lastStartError`.
    public func lastStartError(_ name: String) -> String? { runtime.lastStartError(name) }
    /// Forwards to `runtime.waitReady`.
    public func waitReady(_ name: String, timeout: Double) throws -> Readiness { try runtime.waitReady(name, timeout: timeout) }

    // MARK: - LiveConfig

    /// Forwards to `liveConfig.stats`.
    public func stats(_ name: String) -> CgroupStats? { liveConfig.stats(name) }

    // MARK: - ConfigEditor

    /// Forwards to `configEditor.layer`.
    public func layer(of owner: ConfigOwner, expanded wantExpanded: Bool = false) throws -> ConfigLayer { try configEditor.layer(of: owner, expanded: wantExpanded) }
    /// Forwards to `configEditor.setConfig`.
    public func setConfig(_ owner: ConfigOwner, _ pairs: [(String, String)]) throws { try configEditor.setConfig(owner, pairs) }
    /// Forwards to `configEditor.unsetConfig`.
    public func unsetConfig(_ owner: ConfigOwner, _ keys: [String]) throws { try configEditor.unsetConfig(owner, keys) }
    /// Forwards to `configEditor.addDevice`.
    public func addDevice(_ owner: ConfigOwner, name: String, _ config: [String: String]) throws { try configEditor.addDevice(owner, name: name, config) }
    /// Forwards to `configEditor.removeDevices`.
    public func removeDevices(_ owner: ConfigOwner, names: [String]) throws { try configEditor.removeDevices(owner, names: names) }
    /// Forwards to `configEditor.setDevice`.
    public func setDevice(_ owner: ConfigOwner, name: String, _ pairs: [(String, String)]) throws { try configEditor.setDevice(owner, name: name, pairs) }
    /// Forwards to `configEditor.unsetDevice`.
    public func unsetDevice(_ owner: ConfigOwner, name: String, keys: [String]) throws { try configEditor.unsetDevice(owner, name: name, keys: keys) }
    /// Forwards to `configEditor.overrideDevice`.
    public func overrideDevice(container: String, name: String, _ pairs: [(String, String)]) throws { try configEditor.overrideDevice(container: container, name: name, pairs) }
    /// Forwards to `configEditor.deviceChangeNote`.
    public func deviceChangeNote(_ owner: ConfigOwner) -> String? { configEditor.deviceChangeNote(owner) }

    // MARK: - ContainerFiles

    /// Forwards to `files.pullFile`.
    public func pullFile(_ name: String, path: String) throws -> (data: Data, mode: mode_t, uid: uid_t, gid: gid_t) { try files.pullFile(name, path: path) }
    /// Forwards to `files.pushFile`.
    public func pushFile(_ name: String, path: String, data: Data, fileName: String, mode: mode_t, uid: uid_t, gid: gid_t, createParents: Bool) throws {
        try files.pushFile(name, path: path, data: data, fileName: fileName, mode: mode, uid: uid, gid: gid, createParents: createParents)
    }
    /// Forwards to `files.pushTree`.
    public func pushTree(_ name: String, local: String, path: String, uid: uid_t, gid: gid_t, createParents: Bool = false) throws {
        try files.pushTree(name, local: local, path: path, uid: uid, gid: gid, createParents: createParents)
    }
    /// Forwards to `files.createEntry`.
    public func createEntry(
        _ name: String, path: String, type: FileEntryType, target: String?, mode: mode_t?, uid: uid_t, gid: gid_t,
        createParents: Bool, force: Bool
    ) throws {
        try files.createEntry(name, path: path, type: type, target: target, mode: mode, uid: uid, gid: gid, createParents: createParents, force: force)
    }
    /// Forwards to `files.deleteEntry`.
    public func deleteEntry(_ name: String, path: String, force: Bool) throws { try files.deleteEntry(name, path: path, force: force) }
    /// Forwards to `files.pullTree`.
    public func pullTree(_ name: String, path: String, to local: String) throws { try files.pullTree(name, path: path, to: local) }

    // MARK: - Snapshots

    /// Forwards to `snapshots.createSnapshot`.
    @discardableResult
    public func createSnapshot(_ name: String, snapshot given: String?, expiry: String? = nil, reuse: Bool = false, description: String = "", at now: Date = Date()) throws
        -> TakenSnapshot
    { try snapshots.createSnapshot(name, snapshot: given, expiry: expiry, reuse: reuse, description: description, at: now) }
    /// Forwards to `snapshots.listSnapshots`.
    public func listSnapshots(_ name: String) throws -> [SnapshotEntry] { try snapshots.listSnapshots(name) }
    /// Forwards to `snapshots.snapshotDocument`.
    public func snapshotDocument(_ name: String, _ snap: String) throws -> String { try snapshots.snapshotDocument(name, snap) }
    /// Forwards to `snapshots.restoreSnapshot`.
    @discardableResult
    public func restoreSnapshot(_ name: String, _ snap: String, force: Bool = false) throws -> [String] { try snapshots.restoreSnapshot(name, snap, force: force) }
    /// Forwards to `snapshots.renameSnapshot`.
    public func renameSnapshot(_ name: String, _ old: String, to new: String) throws { try snapshots.renameSnapshot(name, old, to: new) }
    /// Forwards to `snapshots.deleteSnapshots`.
    public func deleteSnapshots(_ name: String, _ snaps: [String]) throws { try snapshots.deleteSnapshots(name, snaps) }

    // MARK: - SnapshotSchedule

    /// Forwards to `schedule.pruneSnapshots`.
    @discardableResult
    public func pruneSnapshots(_ names: [String] = []) throws -> [PrunedSnapshot] { try schedule.pruneSnapshots(names) }
    /// Forwards to `schedule.runSchedule`.
    public func runSchedule(now: Date = Date()) throws -> [String] { try schedule.runSchedule(now: now) }

    // MARK: - Copies

    /// Forwards to `copies.copyContainer`.
    @discardableResult
    public func copyContainer(_ request: CopyRequest) throws -> [String] { try copies.copyContainer(request) }

    // MARK: - StorageReport

    /// Forwards to `storageReport.storageInfo`.
    public func storageInfo() throws -> StorageInfo { try storageReport.storageInfo() }

    // MARK: - Networks

    /// Forwards to `networks.createNetwork`.
    public func createNetwork(_ name: String, config pairs: [(String, String)], description: String = "") throws {
        try networks.createNetwork(name, config: pairs, description: description)
    }
    /// Forwards to `networks.listNetworks`.
    public func listNetworks() throws -> [NetworkEntry] { try networks.listNetworks() }
    /// Forwards to `networks.networkDocument`.
    public func networkDocument(_ name: String) throws -> String { try networks.networkDocument(name) }
    /// Forwards to `networks.networkConfig`.
    public func networkConfig(_ name: String) throws -> [String: String] { try networks.networkConfig(name) }
    /// Forwards to `networks.setNetwork`.
    @discardableResult
    public func setNetwork(_ name: String, _ pairs: [(String, String)]) throws -> [String] { try networks.setNetwork(name, pairs) }
    /// Forwards to `networks.unsetNetwork`.
    @discardableResult
    public func unsetNetwork(_ name: String, _ keys: [String]) throws -> [String] { try networks.unsetNetwork(name, keys) }
    /// Forwards to `networks.deleteNetworks`.
    public func deleteNetworks(_ names: [String]) throws { try networks.deleteNetworks(names) }
    /// Forwards to `networks.networkLeases`.
    public func networkLeases(_ name: String) throws -> [LeaseEntry] { try networks.networkLeases(name) }
    /// Forwards to `networks.networkState`.
    public func networkState(_ name: String) throws -> NetworkState { try networks.networkState(name) }

    // MARK: - NICs

    /// Forwards to `nics.nicStates`.
    public func nicStates(_ name: String) throws -> [NicState] { try nics.nicStates(name) }

    // MARK: - Images

    /// Forwards to `images.templates`.
    public func templates() throws -> [TemplateManifest] { try images.templates() }
    /// Forwards to `images.listImages`.
    public func listImages() throws -> [ImageInfo] { try images.listImages() }
    /// Forwards to `images.resolveImage`.
    public func resolveImage(_ ref: String, progress: (String) -> Void = { _ in }) throws -> ImageInfo { try images.resolveImage(ref, progress: progress) }
    /// Forwards to `images.buildImage`.
    @discardableResult
    public func buildImage(template name: String, options overrides: [String: String] = [:], progress: (String) -> Void = { _ in }) throws -> ImageInfo {
        try images.buildImage(template: name, options: overrides, progress: progress)
    }
    /// Forwards to `images.deleteImage`.
    public func deleteImage(_ ref: String) throws { try images.deleteImage(ref) }
    /// Forwards to `images.setImageAlias`.
    @discardableResult
    public func setImageAlias(_ alias: String, target: String) throws -> String { try images.setImageAlias(alias, target: target) }
    /// Forwards to `images.deleteImageAlias`.
    public func deleteImageAlias(_ alias: String) throws { try images.deleteImageAlias(alias) }
    public func renameImageAlias(_ old: String, to new: String) throws { try images.renameImageAlias(old, to: new) }

    // MARK: - Profiles

    /// Forwards to `profiles.listProfiles`.
    public func listProfiles() throws -> [ProfileSummary] { try profiles.listProfiles() }
    /// Forwards to `profiles.profileDocument`.
    public func profileDocument(_ name: String) throws -> ProfileDocument { try profiles.profileDocument(name) }
    /// Forwards to `profiles.createProfile`.
    public func createProfile(_ name: String, _ doc: ProfileDocument) throws { try profiles.createProfile(name, doc) }
    /// Forwards to `profiles.updateProfile`.
    @discardableResult
    public func updateProfile(_ name: String, _ doc: ProfileDocument) throws -> [String] { try profiles.updateProfile(name, doc) }
    /// Forwards to `profiles.deleteProfile`.
    public func deleteProfile(_ name: String) throws { try profiles.deleteProfile(name) }
    /// Forwards to `profiles.deleteProfiles`.
    public func deleteProfiles(_ names: [String]) throws { try profiles.deleteProfiles(names) }
    /// Forwards to `profiles.copyProfile`.
    public func copyProfile(_ source: String, to target: String) throws { try profiles.copyProfile(source, to: target) }
    /// Forwards to `profiles.renameProfile`.
    public func renameProfile(_ source: String, to target: String) throws { try profiles.renameProfile(source, to: target) }
    /// Forwards to `profiles.setProfileDescription`.
    public func setProfileDescription(_ name: String, _ description: String) throws { try profiles.setProfileDescription(name, description) }
    /// Forwards to `containers.setContainerDescription`.
    public func setContainerDescription(_ name: String, _ description: String) throws { try containers.setContainerDescription(name, description) }
    /// Forwards to `networks.setNetworkDescription`.
    public func setNetworkDescription(_ name: String, _ description: String) throws { try networks.setNetworkDescription(name, description) }

    // MARK: - ContainerExec, ContainerConsole

    /// Forwards to `execs.exec`.
    public func exec(_ request: ExecRequest) throws -> Int32 { try execs.exec(request) }
    /// Forwards to `console.consoleLog`.
    public func consoleLog(_ name: String) throws -> String { try console.consoleLog(name) }
    /// Forwards to `console.attachConsole`.
    public func attachConsole(_ name: String, onAttach: () -> Void) throws { try console.attachConsole(name, onAttach: onAttach) }
}
