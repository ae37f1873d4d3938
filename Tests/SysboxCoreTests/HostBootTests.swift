import Foundation
import Synchronization
import SysboxCore
import Testing

/// The rules of `sysbox autostart` and `sysbox shutdown` (BootPlan): who starts, in which order.
@Suite struct HostBootTests {
    @Test func autostartRule() {
        // boot.autostart decides when set, whatever the last state.
        #expect(BootPlan.autostartReason(config: ["boot.autostart": "true"], recordedRunning: false) == .autostart)
        #expect(BootPlan.autostartReason(config: ["boot.autostart": "on"], recordedRunning: false) == .autostart)
        #expect(BootPlan.autostartReason(config: ["boot.autostart": "false", BootPlan.lastStateKey: "RUNNING"], recordedRunning: true) == nil)
        // Unset: the state at the last shutdown, or running at a power loss.
        #expect(BootPlan.autostartReason(config: [BootPlan.lastStateKey: "RUNNING"], recordedRunning: false) == .lastState)
        #expect(BootPlan.autostartReason(config: [BootPlan.lastStateKey: "STOPPED"], recordedRunning: false) == nil)
        #expect(BootPlan.autostartReason(config: [:], recordedRunning: true) == .powerLoss)
        #expect(BootPlan.autostartReason(config: [:], recordedRunning: false) == nil)
        #expect(BootPlan.lastStateKey == "volatile.last_state.power")
    }

    @Test func lastStateAtShutdown() {
        #expect(BootPlan.lastStateAtShutdown(running: true, recorded: nil) == "RUNNING")
        #expect(BootPlan.lastStateAtShutdown(running: true, recorded: "STOPPED") == "RUNNING")
        #expect(BootPlan.lastStateAtShutdown(running: true, recorded: "RUNNING") == nil)
        #expect(BootPlan.lastStateAtShutdown(running: false, recorded: nil) == "STOPPED")
        // A second shutdown (by hand, then the host's) keeps what the first one saw.
        #expect(BootPlan.lastStateAtShutdown(running: false, recorded: "RUNNING") == nil)
        #expect(BootPlan.lastStateAtShutdown(running: false, recorded: "STOPPED") == nil)
    }

    @Test func entriesUseTheKeysOrTheirDefaults() {
        let start = BootPlan.entry(
            "a", config: ["boot.autostart.priority": "-3", "boot.autostart.delay": "2"], priorityKey: "boot.autostart.priority", secondsKey: "boot.autostart.delay")
        #expect(start == BootEntry(name: "a", priority: -3, seconds: 2))
        let stop = BootPlan.entry("b", config: [:], priorityKey: "boot.stop.priority", secondsKey: "boot.host_shutdown_timeout")
        #expect(stop == BootEntry(name: "b", priority: 0, seconds: 30))
        // A value that slipped past the checks (an older database) falls back to the default.
        #expect(BootPlan.entry("c", config: ["boot.host_shutdown_timeout": "soon"], priorityKey: "boot.stop.priority", secondsKey: "boot.host_shutdown_timeout").seconds == 30)
    }

    @Test func groupsByPriorityHighestFirst() {
        let entries = [
            BootEntry(name: "web2", priority: 0, seconds: 0), BootEntry(name: "db", priority: 10, seconds: 0),
            BootEntry(name: "web1", priority: 0, seconds: 0), BootEntry(name: "cache", priority: 5, seconds: 0),
            BootEntry(name: "late", priority: -1, seconds: 0), BootEntry(name: "db2", priority: 10, seconds: 0)
        ]
        #expect(BootPlan.groups(entries).map { $0.map(\.name) } == [["db", "db2"], ["cache"], ["web1", "web2"], ["late"]])
        #expect(BootPlan.groups([]).isEmpty)
    }

    /// Every entry runs once; a group starts after the one before has finished; never more than
    /// `parallel` at once.
    @Test func runKeepsGroupsApartAndLimitsParallelism() {
        struct Log { var events: [String] = []; var active = 0; var peak = 0 }
        let log = Mutex(Log())
        let groups = [
            (0..<6).map { BootEntry(name: "a\($0)", priority: 2, seconds: 0) },
            (0..<3).map { BootEntry(name: "b\($0)", priority: 1, seconds: 0) }
        ]
        BootPlan.run(groups, parallel: 2) { entry in
            log.withLock { l in
                l.active += 1
                l.peak = max(l.peak, l.active)
                l.events.append("+" + entry.name)
            }
            usleep(20_000)
            log.withLock { l in
                l.active -= 1
                l.events.append("-" + entry.name)
            }
        }
        let l = log.withLock { $0 }
        #expect(l.peak == 2)
        #expect(Set(l.events.filter { $0.hasPrefix("+") }) == Set(groups.joined().map { "+" + $0.name }))
        #expect(l.events.count == 18)
        let lastEndOfFirst = l.events.lastIndex { $0.hasPrefix("-a") } ?? Int.max
        let firstStartOfSecond = l.events.firstIndex { $0.hasPrefix("+b") } ?? -1
        #expect(lastEndOfFirst < firstStartOfSecond)
    }

    /// A group with a delay (autostart) runs one at a time; without delaysInOrder (shutdown, whose
    /// seconds are timeouts) it does not.
    @Test func aDelayedGroupRunsInOrder() {
        for (inOrder, expectedPeak) in [(true, 1), (false, 3)] {
            let active = Mutex((now: 0, peak: 0))
            let group = (0..<3).map { BootEntry(name: "d\($0)", priority: 0, seconds: $0 == 1 ? 1 : 0) }
            BootPlan.run([group], parallel: 4, delaysInOrder: inOrder) { _ in
                active.withLock { a in
                    a.now += 1
                    a.peak = max(a.peak, a.now)
                }
                usleep(30_000)
                active.withLock { $0.now -= 1 }
            }
            #expect(active.withLock { $0.peak } == expectedPeak, "delaysInOrder \(inOrder)")
        }
    }

    @Test func resultLines() {
        #expect(BootResult(name: "web1", outcome: .started).line == "web1: started")
        #expect(BootResult(name: "web2", outcome: .failed("no root disk")).line == "web2: failed: no root disk")
        #expect(BootResult(name: "db", outcome: .killed(seconds: 2)).line == "db: killed (SIGKILL) after 2 s without a clean stop (boot.host_shutdown_timeout)")
        #expect(BootResult(name: "web2", outcome: .failed("x")).failed && !BootResult(name: "a", outcome: .stopped).failed)
    }
}
