import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The outcome of `sysbox wait`.
public struct Readiness: Sendable, Equatable {
    /// `running`, `degraded`, `maintenance`, … (systemd's `is-system-running`), or `running` for an
    /// init that reports nothing.
    public var state: String
    /// Failed units when the state is not `running`.
    public var failedUnits: [String]

    public var isUp: Bool { state == "running" }
}

extension ContainerRuntime {
    /// Waits until the container's system has finished booting: for an image whose template says
    /// `ready: systemd`, until `systemctl is-system-running` inside is no longer `initializing` or
    /// `starting` (polled through `sysbox exec`); for others, until init runs.
    /// - Throws: `SysboxError(.conflict)` when the container is not running (or stops while waiting),
    ///   `SysboxError(.io)` on timeout, naming the last state seen.
    public func waitReady(_ name: String, timeout: Double) throws -> Readiness {
        try Names.validate(name, as: .container)
        let view = try containers.containerView(name)
        let deadline = Date().addingTimeInterval(timeout)
        waitWhileBusy(name, seconds: timeout)
        guard liveState(name) != nil else {
            throw SysboxError(.conflict, "container \(name) is not running; start it with: sysbox start \(name)")
        }
        let ready = try read { db in try images.baseImage(db, container: view.record).manifest.ready }
        guard ready == "systemd" else { return Readiness(state: "running", failedUnits: []) }
        var last = "starting"
        while Date() < deadline {
            guard liveState(name) != nil else {
                throw SysboxError(.conflict, "container \(name) stopped while booting (last state: \(last)); see sysbox console \(name) --show-log")
            }
            // Exit codes are not the answer (non-zero for every state but running); the printed state is.
            let out = (try? execCapture(name, ["systemctl", "is-system-running"], deadline: deadline)) ?? ""
            // What the container prints never reaches the terminal raw: a state is [a-z-].
            let state = String(out.trimmingCharacters(in: .whitespacesAndNewlines).prefix(32))
                .filter { $0.isASCII && ($0.isLowercase || $0 == "-") }
            // Empty or "offline": systemd is not answering on its bus yet, early in the boot.
            if !state.isEmpty, !["initializing", "starting", "offline"].contains(state) {
                if state == "running" { return Readiness(state: state, failedUnits: []) }
                let failed =
                    ((try? execCapture(
                        name, ["systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"],
                        deadline: Date().addingTimeInterval(10))) ?? "")
                    .split(separator: "\n").prefix(50).compactMap { $0.split(separator: " ").first.map(String.init) }
                    .map { $0.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "@._:-\\".contains($0)) } }
                    .filter { !$0.isEmpty }
                return Readiness(state: state, failedUnits: failed)
            }
            if !state.isEmpty { last = state }
            usleep(100_000)
        }
        throw SysboxError(.io, "container \(name) did not finish booting within \(Int(timeout)) s (state: \(last)); see sysbox console \(name) --show-log")
    }

    /// Runs `sysbox exec NAME -- COMMAND` (this binary) and returns its standard output, whatever its
    /// exit code; killed at `deadline` (a systemctl stuck on D-Bus must not outlast `wait --timeout`).
    func execCapture(_ name: String, _ command: [String], deadline: Date) throws -> String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: exe)
        process.arguments = ["exec", name, "--"] + command
        var env = ProcessInfo.processInfo.environment
        env["SYSBOX_DIR"] = stateDirectory
        if let dataDirectory { env["SYSBOX_DATA_DIR"] = dataDirectory }
        process.environment = env
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Killed only while not yet reaped (the flag is cleared under the lock before waiting), so the
        // pid can never be another process's.
        let guardState = ExecWatch(pid: process.processIdentifier)
        DispatchQueue.global().asyncAfter(deadline: .now() + max(0.1, deadline.timeIntervalSinceNow)) { guardState.fire() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        guardState.disarm()
        process.waitUntilExit()
        return String(decoding: data.prefix(65536), as: UTF8.self)
    }
}

/// Kills a child at a deadline unless disarmed first (before it is reaped).
final class ExecWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var pid: Int32?

    init(pid: Int32) { self.pid = pid }

    func fire() {
        lock.lock()
        defer { lock.unlock() }
        if let pid { kill(pid, SIGKILL) }
    }

    func disarm() {
        lock.lock()
        pid = nil
        lock.unlock()
    }
}
