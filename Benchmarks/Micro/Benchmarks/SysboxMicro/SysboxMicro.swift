import Benchmark
import Foundation
import SysboxCore
import SysboxNetlink

/// Setup state that teardown needs as well (package-benchmark hands setup's result to the benchmark
/// closure only).
final class Holder<T> {
    var value: T?
}

struct ExpansionInput {
    var profiles: [ConfigLayer]
    var local: ConfigLayer
}

let benchmarks: @Sendable () -> Void = {
    // Wall time and mallocs (CPU time is sampled with a 10 ms resolution here: no use at this scale).
    let metrics: [BenchmarkMetric] = [.wallClock, .mallocCountTotal]
    // Fast in-memory paths: an inner loop of 1000 per sample; figures are per operation (marked *).
    let fast = Benchmark.Configuration(metrics: metrics, scalingFactor: .kilo, maxDuration: .seconds(2), maxIterations: 1000)
    let slow = Benchmark.Configuration(metrics: metrics, warmupIterations: 3, maxDuration: .seconds(4), maxIterations: 200)

    // MARK: rtnetlink

    // `ip link add v0 mtu 1400 master br0 up type veth peer name eth0 mtu 1400 address … netns PID`:
    // the one message a NIC start sends (the golden bytes of createVethConfigured), built and finished
    // as NetlinkSocket finishes it, without the send.
    Benchmark("netlink encode: veth create (RTM_NEWLINK)", configuration: fast) { benchmark, nl in
        for _ in benchmark.scaledIterations {
            try nl.createVeth(
                "v0", peer: "eth0", peerNamespacePid: 21348, peerMAC: [0x00, 0x16, 0x3e, 0x01, 0x02, 0x03],
                masterIndex: 2, up: true, mtu: 1400)
        }
        blackHole((nl.transport as? ReplayTransport)?.sentBytes)
    } setup: {
        RouteNetlink(transport: ReplayTransport())
    }

    // A real RTM_GETLINK dump reply (lo, a bridge and 8 veth pairs: 18 links) split into messages and
    // decoded into [Link], as `links()` does after each recv.
    Benchmark("netlink decode: link dump, 18 links (RTM_GETLINK)", configuration: fast) { benchmark, nl in
        for _ in benchmark.scaledIterations {
            let links = try nl.links()
            guard links.count == 18 else { throw FixtureError("expected 18 links, decoded \(links.count)") }
            blackHole(links)
        }
    } setup: {
        RouteNetlink(transport: ReplayTransport(datagrams: try NetlinkFixture.captureLinkDump(pairs: 8)))
    }

    // MARK: config expansion

    // A container on four shipped profiles (default, small, nesting, snapshots-daily) with its own
    // keys and a data disk: the expansion and the device checks that create, start and every profile
    // or device change run.
    Benchmark("config: expand container + 4 profiles, validate devices", configuration: fast) { (benchmark: Benchmark, layers: ExpansionInput) in
        for _ in benchmark.scaledIterations {
            let expanded = Expansion.expand(profiles: layers.profiles, local: layers.local)
            try Devices.validateSet(expanded.devices, requireRoot: true)
            blackHole(expanded)
        }
    } setup: {
        let profiles = try ["default", "small", "nesting", "snapshots-daily"].map(Checkout.profile)
        let local = ConfigLayer(
            config: [
                "volatile.uuid": "5f0c1c8e-9a55-4a3c-9d61-0b7f4c1d2e3a", "volatile.base_image": String(repeating: "ab", count: 32),
                "limits.memory": "1GiB", "environment.TZ": "UTC", "user.role": "web"
            ],
            devices: ["data": ["type": "disk", "source": "/srv/data", "path": "/data", "readonly": "true"]])
        return ExpansionInput(profiles: profiles, local: local)
    }

    // The same from the database, as `config show -e` and exec get it: one container among 1000, its
    // own layer, its profile list and each profile's layer read, then expanded.
    let viewState = Holder<StateDirectory>()
    Benchmark("config: expanded view from the DB (containerView)", configuration: slow) { benchmark in
        guard let manager = viewState.value?.manager else { throw FixtureError("no state directory") }
        for _ in benchmark.scaledIterations {
            blackHole(try manager.containerView("c0500"))
        }
    } setup: {
        let state = try StateDirectory("view")
        viewState.value = state
        try state.seedContainers(1000)
    } teardown: {
        viewState.value?.remove()
    }

    // MARK: list

    let listState = Holder<StateDirectory>()
    Benchmark("list: 1000 containers (listContainers)", configuration: slow) { benchmark in
        guard let manager = listState.value?.manager else { throw FixtureError("no state directory") }
        for _ in benchmark.scaledIterations {
            let views = try manager.listContainers()
            guard views.count == 1000 else { throw FixtureError("listed \(views.count) containers") }
            blackHole(views)
        }
    } setup: {
        let state = try StateDirectory("list")
        listState.value = state
        try state.seedContainers(1000)
    } teardown: {
        listState.value?.remove()
    }

    // What `sysbox list` does in-process: the list, then the table.
    let tableState = Holder<StateDirectory>()
    Benchmark("list: 1000 containers rendered as a table", configuration: slow) { benchmark in
        guard let manager = tableState.value?.manager else { throw FixtureError("no state directory") }
        let format = try OutputFormat(parsing: "table")
        for _ in benchmark.scaledIterations {
            let views = try manager.listContainers()
            let cells: [[TableCell]] = views.map { v in
                [.text(v.name), .text(v.status.rawValue.uppercased()), .list(v.ipv4), .text(v.record.image), .text(String(v.snapshots))]
            }
            blackHole(
                try format.render(
                    headers: ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"], cells: cells,
                    objects: views.map(ContainerListEntry.init), width: nil))
        }
    } setup: {
        let state = try StateDirectory("table")
        tableState.value = state
        try state.seedContainers(1000)
    } teardown: {
        tableState.value?.remove()
    }

    // MARK: exec

    // The Swift path of `sysbox exec micro1 -- true` (the one taken with options or a terminal; a plain
    // exec without them is served by the C fast path before Swift starts): Manager.exec against a
    // running busybox container, until `true` has exited. Mallocs count this process only (the helper
    // and the command are other processes).
    let container = Holder<RunningContainer>()
    Benchmark("exec: Manager.exec true, running busybox", configuration: slow) { benchmark in
        guard let c = container.value else { throw FixtureError("no container") }
        for _ in benchmark.scaledIterations {
            let code = try c.state.manager.exec(ExecRequest(name: c.name, command: ["true"]))
            guard code == 0 else { throw FixtureError("exec true exited \(code)") }
        }
    } setup: {
        container.value = try RunningContainer()
    } teardown: {
        container.value?.remove()
        container.value = nil
    }

    // The same with what `sysbox exec` does before it: open the state directory (database, migrations
    // check, shipped-profiles check, journal recovery). The in-process part of one CLI exec, short of
    // the process start and argument parsing.
    let container2 = Holder<RunningContainer>()
    Benchmark("exec: open Manager + Manager.exec true", configuration: slow) { benchmark in
        guard let c = container2.value else { throw FixtureError("no container") }
        for _ in benchmark.scaledIterations {
            let manager = try Manager(stateDirectory: c.state.path, dataDirectory: Checkout.root)
            let code = try manager.exec(ExecRequest(name: c.name, command: ["true"]))
            guard code == 0 else { throw FixtureError("exec true exited \(code)") }
        }
    } setup: {
        container2.value = try RunningContainer()
    } teardown: {
        container2.value?.remove()
        container2.value = nil
    }
}
