import Testing
@testable import SysboxCore

@Suite struct IPAMTests {
    @Test func parsing() {
        #expect(IPv4Address("10.0.3.7")?.value == 0x0a00_0307)
        #expect(IPv4Address("10.0.3.7")?.description == "10.0.3.7")
        #expect(IPv4Address("10.0.3") == nil)
        #expect(IPv4Subnet("10.0.3.1/24")?.description == "10.0.3.0/24")
        #expect(IPv4Subnet("10.0.3.0/33") == nil)
        let s = IPv4Subnet("192.168.1.0/24")!
        #expect(s.broadcast.description == "192.168.1.255")
        #expect(s.contains(IPv4Address("192.168.1.9")!) && !s.contains(IPv4Address("192.168.2.9")!))
        #expect(s.hosts == IPv4Address("192.168.1.1")!.value...IPv4Address("192.168.1.254")!.value)
        #expect(IPv4Subnet("10.0.0.0/31")?.hosts == nil)
    }

    @Test func overlaps() {
        let a = IPv4Subnet("10.0.0.0/8")!, b = IPv4Subnet("10.0.3.0/24")!, c = IPv4Subnet("172.16.0.0/12")!
        #expect(a.overlaps(b) && b.overlaps(a))
        #expect(!b.overlaps(c))
    }

    @Test func nextFreeIsLowestAndSkipsReserved() throws {
        let s = IPv4Subnet("10.0.3.0/29")!  // .0 network, .1 gateway, .2-.6 leasable, .7 broadcast
        let gw = IPv4Address("10.0.3.1")!
        #expect(try IPAM.nextFree(in: s, gateway: gw, taken: []).description == "10.0.3.2")
        // The gateway may be any host address (as in LXD): it is skipped wherever it is.
        #expect(try IPAM.nextFree(in: s, gateway: IPv4Address("10.0.3.2")!, taken: [IPv4Address("10.0.3.1")!]).description == "10.0.3.3")
        let taken: Set = [IPv4Address("10.0.3.2")!, IPv4Address("10.0.3.3")!, IPv4Address("10.0.3.5")!]
        #expect(try IPAM.nextFree(in: s, gateway: gw, taken: taken).description == "10.0.3.4")
        let full = Set((2...6).map { IPv4Address(s.network.value + UInt32($0)) })
        #expect(throws: SysboxError.self) { try IPAM.nextFree(in: s, gateway: gw, taken: full) }
    }

    @Test func staticAddresses() throws {
        let s = IPv4Subnet("10.0.3.0/24")!, gw = IPv4Address("10.0.3.1")!
        try IPAM.checkStatic(IPv4Address("10.0.3.10")!, in: s, gateway: gw, heldBy: nil)
        #expect(throws: SysboxError.self) { try IPAM.checkStatic(IPv4Address("10.0.4.10")!, in: s, gateway: gw, heldBy: nil) }
        #expect(throws: SysboxError.self) { try IPAM.checkStatic(IPv4Address("10.0.3.1")!, in: s, gateway: gw, heldBy: nil) }
        #expect(throws: SysboxError.self) { try IPAM.checkStatic(IPv4Address("10.0.3.255")!, in: s, gateway: gw, heldBy: nil) }
        do {
            try IPAM.checkStatic(IPv4Address("10.0.3.10")!, in: s, gateway: gw, heldBy: "web1/eth0")
            Issue.record("a held address was accepted")
        } catch let e as SysboxError {
            #expect(e.message == "10.0.3.10 is already leased to web1/eth0")
        }
    }

    @Test func freeSubnetAvoidsHostNetworks() {
        #expect(IPAM.freeSubnet(avoiding: [])?.description == "10.0.3.0/24")
        let used = [IPv4Subnet("10.0.3.0/24")!, IPv4Subnet("10.0.4.0/23")!, IPv4Subnet("192.168.0.0/16")!]
        #expect(IPAM.freeSubnet(avoiding: used)?.description == "10.0.6.0/24")
        // A default route (0.0.0.0/0) overlaps everything but never blocks a choice.
        #expect(IPAM.freeSubnet(avoiding: [IPv4Subnet("0.0.0.0/0")!])?.description == "10.0.3.0/24")
        #expect(IPAM.freeSubnet(avoiding: [IPv4Subnet("10.0.0.0/8")!]) == nil)
    }
}
