import ArgumentParser
import SysboxCore

struct NetworkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "Manage networks: bridges with DHCP, DNS and NAT that containers' NICs join.",
        discussion: """
            A managed network is a Linux bridge with an IPv4 subnet, a dnsmasq serving DHCP (a fixed address per container) and DNS (<container>.<dns.domain>), and NAT to the host's other networks. The default profile's eth0 joins sysboxbr0, which is created the first time a container needs it.

            Keys: ipv4.address (auto, or the bridge's address like 10.0.5.1/24), ipv4.nat (default true), ipv4.dhcp (default true), dns.domain (default sysbox), user.*.

            Examples:
              sysbox network list
              sysbox network create lab ipv4.address=10.0.5.1/24
              sysbox network show lab
              sysbox network list-leases sysboxbr0
              sysbox config device add web1 eth1 nic network=lab
            """,
        subcommands: [
            ListCommand<NetworkOwner>.self, ShowCommand<NetworkOwner>.self, NetworkCreate.self, GetCommand<NetworkOwner>.self,
            SetCommand<NetworkOwner>.self, UnsetCommand<NetworkOwner>.self, DeleteCommand<NetworkOwner>.self, NetworkListLeases.self,
            NetworkInfo.self, NetworkAttach.self, NetworkDetach.self, NetworkAttachProfile.self, NetworkDetachProfile.self
        ]
    )
}

/// Internal: the process that runs a network's dnsmasq and restarts it when it dies.
struct NetworkMonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "__network-monitor", abstract: "Internal: a network's dnsmasq monitor.",
        shouldDisplay: false)

    @Argument var name: String

    func run() throws {
        _ = sysboxCloseFrom(4)
        try Names.validate(name, as: .network)
        throw ExitCode(DNSMasq.runMonitor(network: name, statusFD: 3))
    }
}
