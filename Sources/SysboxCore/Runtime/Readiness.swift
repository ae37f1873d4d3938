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

extension Manager {
    /// Waits until the container's system has finished booting: for an image whose template says
    /// `ready: systemd`, until `systemctl is-system-running` inside is no longer `initializing` or
    /// `starting` (polled through `sysbox exec`); for others, until init runs.
    /// - Throws: `SysboxError(.conflict)` when the container is not running (or stops while waiting),
    ///   `SysboxError(.io)` on timeout, naming the last state seen.
    public func waitReady(_ name: String, timeout: Double) throws -> Readiness {
        try Names.validate(name, as: .container)
        let view = try containerView(name)
        let deadline = Date().addingTimeInterval(timeout)
        waitWhileBusy(name, seconds: timeout)
        guard liveState(name) != nil else {
            throw SysboxError(.conflict, "container \(name) is not running; start it with: sysbox start \(name)")
        }
        let ready = try read { db in try baseImage(db, container: view.record).manifest.ready }
        guard ready == "systemd" else { return Readiness(state: "running", failedUnits: []) }
        var last = "starting"
        while Date() < deadline {
            guard liveState(name) != nil else {
                throw SysboxError(.conflict, "container \(name) stopped while booting (last state: \(last)); see sysbox console \(name) --show-log")
            }
            // Exit codes are not the answer (non-zero for every state but running); the printed state is.
            let out = (try? execCapture(name, ["systemctl", "is-system-running"])) ?? ""
            let state = out.trimmingCharacters(in: .whitespacesAndNewlines)
            // Empty or "offline": systemd is not answering on its bus yet, early in the boot.
            if !state.isEmpty, !["initializing", "starting", "offline"].contains(state) {
                if state == "running" { return Readiness(state: state, failedUnits: []) }
                let failed = ((try? execCapture(name, ["systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager"])) ?? "")
                    .split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
                return Readiness(state: state, failedUnits: failed)
            }
            if !state.isEmpty { last = state }
            usleep(100_000)
        }
        throw SysboxError(.io, "container \(name) did not finish booting within \(Int(timeout)) s (state: \(last)); see sysbox console \(name) --show-log")
    }

    /// Runs `sysbox exec NAME -- COMMAND` (this binary) and returns its standard output, whatever its
    /// exit code.
    func execCapture(_ name: String, _ command: [String]) throws -> String {
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
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
