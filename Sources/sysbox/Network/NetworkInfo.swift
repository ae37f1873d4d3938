import ArgumentParser
import Foundation
import SysboxCore

struct NetworkInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Show a network's bridge on this host: state, addresses, counters, ports.",
        discussion: """
            Examples:
              sysbox network info sysboxbr0
            """)

    @Argument(help: "Network name.", completion: .networks) var name: String

    func run() throws {
        let s = try CLI.manager().networkState(name)
        var lines = ["Name: \(s.name)", "Type: bridge", "State: \(s.up ? "up" : "down")"]
        if let mac = s.hwaddr { lines.append("MAC address: \(mac)") }
        if let mtu = s.mtu { lines.append("MTU: \(mtu)") }
        lines.append("")
        lines.append("IP addresses:")
        lines += s.addresses.isEmpty ? ["  (none: the bridge is recreated when a container on it starts)"] : s.addresses.map { "  inet \($0)" }
        lines.append("")
        lines.append("Network usage:")
        lines.append("  Bytes received: \(s.rxBytes.map(String.init) ?? "-")")
        lines.append("  Bytes sent: \(s.txBytes.map(String.init) ?? "-")")
        lines.append("  Packets received: \(s.rxPackets.map(String.init) ?? "-")")
        lines.append("  Packets sent: \(s.txPackets.map(String.init) ?? "-")")
        lines.append("")
        lines.append("Ports: \(s.ports.isEmpty ? "none" : s.ports.joined(separator: ", "))")
        lines.append("dnsmasq: \(s.dnsmasqPid.map { "running (PID \($0))" } ?? "not running")")
        CLI.out(lines.joined(separator: "\n") + "\n")
    }
}
