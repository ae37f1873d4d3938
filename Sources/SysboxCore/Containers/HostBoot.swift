import CSysbox
import Foundation
import Synchronization
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// One container in a host boot or shutdown: its name, its priority (`boot.autostart.priority` or
/// `boot.stop.priority`) and its seconds (`boot.autostart.delay` after its start, or
/// `boot.host_shutdown_timeout` for its stop).
public struct BootEntry: Sendable, Equatable {
    public var name: String
    public var priority: Int64
    public var seconds: Int64

    public init(name: String, priority: Int64, seconds: Int64) {
        self.name = name
        self.priority = priority
        self.seconds = seconds
    }
}

/// What `autostart` or `shutdown` did to one container: one line of their output.
public struct BootResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        /// autostart started it.
        case started
        /// autostart found it running already.
        case alreadyRunning
        /// shutdown stopped it within its timeout.
        case stopped
        /// shutdown killed it (SIGKILL) after `seconds` of waiting for a clean stop.
        case killed(seconds: Int64)
        /// shutdown found it stopped already (it stopped on its own meanwhile).
        case notRunning
        /// The start or stop failed, with the reason.
        case failed(String)
    }

    public var name: String
    public var outcome: Outcome

    public init(name: String, outcome: Outcome) {
        self.name = name
        self.outcome = outcome
    }

    public var failed: Bool {
        if case .failed = outcome { return true }
        return false
    }

    /// `web1: started`, `web2: failed: REASON`, `db: killed after 30 s without a clean stop (boot.host_shutdown_timeout)`.
    public var line: String {
        switch outcome {
        case .started: return "\(name): started"
        case .alreadyRunning: return "\(name): already running"
        case .stopped: return "\(name): stopped"
        case let .killed(seconds): return "\(name): killed (SIGKILL) after \(seconds) s without a clean stop (boot.host_shutdown_timeout)"
        case .notRunning: return "\(name): not running"
        case let .failed(reason): return "\(name): failed: \(reason)"
        }
    }
}

/// The rules of a host boot and shutdown, as pure functions: which containers start, in which order.
public enum BootPlan {
    /// The container's state at the last `sysbox shutdown` (LXD's key): `RUNNING` or `STOPPED`.
    /// `autostart` reads it and removes it.
    public static let lastStateKey = "volatile.last_state.power"

    /// Why autostart starts a container.
    public enum Reason: Sendable, Equatable {
        /// `boot.autostart=true`.
        case autostart
        /// `boot.autostart` unset, and it was running at the last `sysbox shutdown`.
        case lastState
        /// `boot.autostart` unset, and its state of record is running while nothing of it runs: it was
        /// running when the host lost power (or when its monitor was killed).
        case powerLoss
    }

    /// Whether (and why) autostart starts a stopped container whose expanded config is `config` and
    /// whose state of record (`containers.power_state`) is `recordedRunning`: `boot.autostart=true`
    /// always, `false` never; unset when `volatile.last_state.power` is `RUNNING` or when it was
    /// running at a power loss (LXD's last-state rule, with the power loss that LXD cannot see).
    public static func autostartReason(config: [String: String], recordedRunning: Bool) -> Reason? {
        if let text = config["boot.autostart"], let on = try? Values.bool(text) { return on ? .autostart : nil }
        if config[lastStateKey] == "RUNNING" { return .lastState }
        return recordedRunning ? .powerLoss : nil
    }

    /// What `shutdown` records in `volatile.last_state.power` of a container (nil: leave it): `RUNNING`
    /// when it runs; `STOPPED` when it does not and nothing is recorded. A `RUNNING` left by an earlier
    /// shutdown (no `autostart` since, which removes it) stays: `sysbox shutdown` run by hand, then the
    /// host's own at the reboot, must not turn every container to `STOPPED`.
    public static func lastStateAtShutdown(running: Bool, recorded: String?) -> String? {
        if running { return recorded == "RUNNING" ? nil : "RUNNING" }
        return recorded == nil ? "STOPPED" : nil
    }

    /// The entry of a container for a boot (`priorityKey` `boot.autostart.priority`, `secondsKey`
    /// `boot.autostart.delay`) or a shutdown (`boot.stop.priority`, `boot.host_shutdown_timeout`):
    /// unset or unreadable values are the keys' defaults.
    public static func entry(_ name: String, config: [String: String], priorityKey: String, secondsKey: String) -> BootEntry {
        func value(_ key: String) -> Int64 {
            for text in [config[key], InstanceConfig.defaultValue(key)].compactMap({ $0 }) {
                if let v = try? Values.integer(text) { return v }
            }
            return 0
        }
        return BootEntry(name: name, priority: value(priorityKey), seconds: max(0, value(secondsKey)))
    }

    /// The entries grouped by priority, highest first; names in order within a group.
    public static func groups(_ entries: [BootEntry]) -> [[BootEntry]] {
        let byPriority = Dictionary(grouping: entries, by: \.priority)
        return byPriority.keys.sorted(by: >).map { p in (byPriority[p] ?? []).sorted { $0.name < $1.name } }
    }

    /// Runs `body` for every entry, one priority group after the other (a group begins when every
    /// `body` of the one before has returned), at most `parallel` at once within a group, each on a
    /// thread of its own (a start or a stop mostly waits). With `delaysInOrder`, a group in which an
    /// entry has `seconds` (autostart's `boot.autostart.delay`) runs one at a time, as LXD does: the
    /// delay then holds back every start after it, not one slot of several.
    public static func run(
        _ groups: [[BootEntry]], parallel: Int, delaysInOrder: Bool = false, _ body: @escaping @Sendable (BootEntry) -> Void
    ) {
        for group in groups where !group.isEmpty {
            let next = Mutex(0)
            let done = DispatchGroup()
            let width = delaysInOrder && group.contains { $0.seconds > 0 } ? 1 : parallel
            for _ in 0..<max(1, min(width, group.count)) {
                done.enter()
                let worker = Thread {
                    while true {
                        let index = next.withLock { i -> Int in
                            defer { i += 1 }
                            return i
                        }
                        guard index < group.count else { break }
                        body(group[index])
                    }
                    done.leave()
                }
                worker.start()
            }
            done.wait()
        }
    }
}

/// The host's boot and shutdown: `sysbox autostart` starts the containers that start at boot,
/// `sysbox shutdown` stops every running one and records which were running.
public struct HostBoot: StateBound {
    public let state: State

    public init(state: State) { self.state = state }

    /// Starts every stopped container that `BootPlan.autostartReason` chooses, by
    /// `boot.autostart.priority` (higher first), at most `parallel` at once within a priority; a
    /// container's slot waits its `boot.autostart.delay` after its start. A failed start does not stop
    /// the others: its reason is its line and stays in `info` ("Last start failed"). Every container's
    /// `volatile.last_state.power` is removed once it is handled (it describes one shutdown).
    /// `report` gets each line as it happens (called one at a time).
    /// - Returns: one result per container chosen, in the order they finished.
    public func autostart(parallel: Int, report: @escaping @Sendable (BootResult) -> Void) throws -> [BootResult] {
        let views = try containers.listContainers()
        var chosen: [BootEntry] = []
        var done: [BootResult] = []
        for v in views {
            let reason = BootPlan.autostartReason(config: v.expanded.config, recordedRunning: v.record.state == .running)
            if reason != nil && v.status != .stopped {
                let result = BootResult(name: v.name, outcome: .alreadyRunning)
                report(result)
                done.append(result)
            } else if reason != nil {
                chosen.append(BootPlan.entry(v.name, config: v.expanded.config, priorityKey: "boot.autostart.priority", secondsKey: "boot.autostart.delay"))
            }
        }
        // The containers this run does not start forget their last state now; the others once started.
        for v in views where v.local.config[BootPlan.lastStateKey] != nil && !chosen.contains(where: { $0.name == v.name }) {
            forgetLastState(v.name)
        }
        let results = Mutex(done)
        BootPlan.run(BootPlan.groups(chosen), parallel: parallel, delaysInOrder: true) { entry in
            let result = self.startOne(entry.name)
            self.forgetLastState(entry.name)
            results.withLock { list in
                list.append(result)
                report(result)
            }
            if case .started = result.outcome, entry.seconds > 0 { Thread.sleep(forTimeInterval: Double(entry.seconds)) }
        }
        return results.withLock { $0 }
    }

    /// Stops every running container cleanly, by `boot.stop.priority` (higher first), all of a priority
    /// at once: its stop signal, then SIGKILL after its `boot.host_shutdown_timeout`. First records
    /// `volatile.last_state.power` of every container (`BootPlan.lastStateAtShutdown`), for `autostart`.
    /// `report` gets each line as it happens (called one at a time).
    /// - Returns: one result per running container, in the order they finished.
    public func shutdown(report: @escaping @Sendable (BootResult) -> Void) throws -> [BootResult] {
        let views = try containers.listContainers()
        let running = views.filter { [.running, .frozen, .starting].contains($0.status) }
        try write { db in
            for v in views {
                guard let record = try ContainerRecord.named(v.name, in: db),
                    let value = BootPlan.lastStateAtShutdown(running: running.contains { $0.name == v.name }, recorded: v.local.config[BootPlan.lastStateKey])
                else { continue }
                try ConfigTable.containers.set(db, owner: try record.requireID(), key: BootPlan.lastStateKey, value: value)
            }
        }
        let entries = running.map {
            BootPlan.entry($0.name, config: $0.expanded.config, priorityKey: "boot.stop.priority", secondsKey: "boot.host_shutdown_timeout")
        }
        let results = Mutex([BootResult]())
        BootPlan.run(BootPlan.groups(entries), parallel: max(1, entries.count)) { entry in
            let result = self.stopOne(entry)
            results.withLock { list in
                list.append(result)
                report(result)
            }
        }
        return results.withLock { $0 }
    }

    /// Starts one container; a failure is its result, with its reason also kept for `info`.
    func startOne(_ name: String) -> BootResult {
        do {
            _ = try runtime.start(name)
            return BootResult(name: name, outcome: .started)
        } catch {
            if runtime.liveState(name) != nil { return BootResult(name: name, outcome: .alreadyRunning) }
            var reason = Host.describe(error)
            let prefix = "cannot start \(name): "
            if reason.hasPrefix(prefix) { reason.removeFirst(prefix.count) }
            // `start` keeps the reason of a failure past its checks; one before them (busy, no root) too.
            if runtime.lastStartError(name) == nil {
                try? Host.writeAtomically(reason + "\n", to: paths(name).lastError, mode: 0o600)
            }
            return BootResult(name: name, outcome: .failed(reason))
        }
    }

    /// Stops one container as `stop` does, holding its lock, but knowing whether it had to kill:
    /// the stop signal through a pidfd (pidfd_send_signal), a wait of `entry.seconds` (poll on the
    /// pidfd), then `stop --force`'s SIGKILL. Waits for the monitor to record the stop.
    func stopOne(_ entry: BootEntry) -> BootResult {
        let name = entry.name
        do {
            return try withLock(name) {
                runtime.waitWhileBusy(name)
                guard let live = runtime.liveState(name) else {
                    runtime.cleanupStale(name)
                    return BootResult(name: name, outcome: .notRunning)
                }
                let initFD = sysbox_pidfd_open(live.initPid)
                guard initFD >= 0 else {
                    runtime.cleanupStale(name)
                    return BootResult(name: name, outcome: .notRunning)
                }
                defer { close(initFD) }
                let monitorFD = live.monitorPid.map { sysbox_pidfd_open($0) } ?? -1
                defer { if monitorFD >= 0 { close(monitorFD) } }
                runtime.thawIfPaused(name)
                _ = sysbox_pidfd_send_signal(initFD, StartPlan.stopSignal(at: paths(name).plan) ?? SIGTERM)
                if entry.seconds > 0, ContainerRuntime.waitExit(initFD, seconds: Double(entry.seconds)) {
                    // Init is gone: its monitor cleans up and records the stop; wait for it.
                    if monitorFD >= 0 { _ = ContainerRuntime.waitExit(monitorFD, seconds: 20) }
                    runtime.cleanupStale(name)
                    if (try? read({ db in try ContainerRecord.named(name, in: db) })) != nil { try? runtime.recordPowerState(name, .stopped) }
                    return BootResult(name: name, outcome: .stopped)
                }
                try runtime.stopLocked(name, force: true, timeout: 0)
                return BootResult(name: name, outcome: .killed(seconds: entry.seconds))
            }
        } catch {
            return BootResult(name: name, outcome: .failed(Host.describe(error)))
        }
    }

    /// Removes `volatile.last_state.power` of `name` (gone already: nothing to do).
    func forgetLastState(_ name: String) {
        do {
            try write { db in
                guard let record = try ContainerRecord.named(name, in: db) else { return }
                try ConfigTable.containers.set(db, owner: try record.requireID(), key: BootPlan.lastStateKey, value: nil)
            }
        } catch {
            Self.logger.warning("cannot clear \(BootPlan.lastStateKey) of \(name): \(Host.describe(error))")
        }
    }
}

extension Manager {
    /// The host's boot and shutdown (`sysbox autostart`, `sysbox shutdown`).
    public var hostBoot: HostBoot { HostBoot(state: state) }
}
