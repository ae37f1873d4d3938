import ArgumentParser
import Foundation
import SysboxCore

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show a container's status and details.",
        discussion: """
            With --show-log, the container's runtime log follows (what its monitor wrote: warnings, and
            why a start or init failed; the last 64 KiB). The console (init's output) is `sysbox console
            NAME --show-log`.

            Examples:
              sysbox info web1
              sysbox info web1 --show-log
            """
    )

    @Argument(help: "Container name.", completion: .containers)
    var name: String

    @Flag(name: .customLong("show-log"), help: "Also print the container's runtime log.")
    var showLog = false

    func run() throws {
        let manager = try CLI.manager()
        let v = try manager.containerView(name)
        var lines = [
            "Name: \(v.name)",
            "Status: \(v.status.rawValue.uppercased())",
            "Type: container",
            "Image: \(v.record.image)",
            "Profiles: \(v.profiles.joined(separator: ", "))",
            "Created: \(HumanTime.string(v.record.createdAt))",
            "Last Used: \(v.record.lastUsedAt.map(HumanTime.string) ?? "never")",
            "Ephemeral: \(v.record.ephemeral)"
        ]
        if !v.record.description.isEmpty { lines.append("Description: \(v.record.description)") }
        let privileged = (try? Values.bool(v.expanded.config["security.privileged"] ?? "false")) ?? false
        lines.append("Privileged: \(privileged ? "yes (container root is host root)" : "no")")
        if let json = v.expanded.config["volatile.idmap.current"], let map = try? IDMap(json: json), !map.entries.isEmpty {
            // The map of the last start (volatile.idmap.current): container ids -> host ids.
            lines.append("ID map:")
            for e in map.entries {
                let kind = e.isUID && e.isGID ? "both" : e.isUID ? "uid" : "gid"
                lines.append("  \(kind) \(e.nsID)-\(e.nsID + e.range - 1) -> host \(e.hostID)-\(e.hostID + e.range - 1)")
            }
        }
        if let pid = v.pid { lines.append("PID: \(pid)") }
        if !v.ipv4.isEmpty { lines.append("IPv4: \(v.ipv4.joined(separator: ", "))") }
        lines.append("Snapshots: \(v.snapshots)")
        let nics = try manager.nicStates(name)
        if !nics.isEmpty {
            lines.append("Network:")
            for n in nics {
                lines.append("  \(n.name) (device \(n.device), network \(n.network)):")
                lines.append("    MAC address: \(n.hwaddr.isEmpty ? "-" : n.hwaddr)")
                lines.append("    Host interface: \(n.hostName.isEmpty ? "-" : n.hostName)")
                lines.append("    IPv4: \(n.address.isEmpty ? "-" : n.address)")
                if let rx = n.rxBytes, let tx = n.txBytes { lines.append("    Bytes received: \(rx)\n    Bytes sent: \(tx)") }
            }
        }
        if let stats = manager.stats(name) {
            lines.append("Resources:")
            if let p = stats.processes { lines.append("  Processes: \(p)") }
            if let cpu = stats.cpuNanoseconds { lines.append(String(format: "  CPU usage: %.2f seconds", Double(cpu) / 1e9)) }
            if let mem = stats.memoryBytes { lines.append("  Memory usage: \(humanBytes(mem))") }
        }
        if let stop = manager.lastStop(name) { lines.append("Last stop: \(stop)") }
        if !v.status.isLive, let error = manager.lastStartError(name) {
            lines.append("Last start failed: \(error)")
        }
        if showLog {
            let log = manager.runtimeLog(name)
            lines.append("\nLog:\n")
            lines.append(log.isEmpty ? "(empty)" : TerminalText.escaped(log.hasSuffix("\n") ? String(log.dropLast()) : log, keepNewlines: true))
        }
        CLI.out(lines.joined(separator: "\n") + "\n")
    }
}
