import Foundation
import Testing
@testable import SysboxCore

/// lxcfs's pure parts: finding its mounts in mountinfo, the binds, `security.lxcfs`, and where the
/// binds sit in the start plan.
@Suite struct LxcfsUnitTests {
    static let mountinfo = """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        568 27 0:266 / /var/lib/lxcfs rw,nosuid,nodev,relatime shared:300 - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other
        569 27 0:267 / /tmp/a\\040b/lxcfs rw,nosuid,nodev,relatime - fuse.lxcfs lxcfs rw,user_id=0,group_id=0,allow_other
        570 27 0:268 / /mnt/other rw,relatime - fuse.sshfs host:/ rw
        """

    @Test func findsTheLxcfsMounts() {
        #expect(Lxcfs.mountPoints(mountinfo: Self.mountinfo) == ["/var/lib/lxcfs", "/tmp/a b/lxcfs"])
        #expect(Lxcfs.mountPoints(mountinfo: "") == [])
        #expect(Lxcfs.mountPoints(mountinfo: "garbage\n1 2 3\n") == [])
    }

    @Test func unescapesMountinfoPaths() {
        #expect(Lxcfs.unescape("/a\\040b\\011c\\134d") == "/a b\tc\\d")
        #expect(Lxcfs.unescape("/plain") == "/plain")
        #expect(Lxcfs.unescape("/end\\04") == "/end\\04")
    }

    @Test func bindsOnlyWhatLxcfsServes() {
        let binds = Lxcfs.binds(mountPoint: "/var/lib/sysbox-lxcfs", present: ["proc/uptime", "proc/meminfo", "proc/bogus"])
        #expect(binds.map(\.target) == ["proc/meminfo", "proc/uptime"])
        #expect(binds.allSatisfy { $0.kind == .bind && $0.flags == [.readonly, .nosuid, .nodev, .noexec] && $0.create == nil })
        #expect(binds.first?.source == "/var/lib/sysbox-lxcfs/proc/meminfo")
    }

    @Test func switchDefaultsToOn() {
        #expect(Lxcfs.enabled([:]))
        #expect(Lxcfs.enabled(["security.lxcfs": "true"]))
        #expect(!Lxcfs.enabled(["security.lxcfs": "false"]))
        #expect(!Lxcfs.enabled(["security.lxcfs": "off"]))
    }

    /// A reboot while lxcfs is dead: its binds whose source does not answer are left out, disks stay.
    @Test func answeringDropsDeadBinds() throws {
        var input = StartPlanGoldenTests.input()
        input.lxcfs = ("/nonexistent-lxcfs", Lxcfs.files)
        let plan = try StartPlanner.plan(input)
        let kept = Lxcfs.answering(plan).mounts
        #expect(kept.count == plan.mounts.count - Lxcfs.files.count)
        #expect(!kept.contains { $0.source?.hasPrefix("/nonexistent-lxcfs/") == true })
        #expect(kept.filter { $0.device != nil }.count == plan.mounts.filter { $0.device != nil }.count)
        input.lxcfs = ("/proc/self/root", ["proc/meminfo"])
        let live = try StartPlanner.plan(input)
        #expect(Lxcfs.answering(live) == live)
    }

    /// After proc and sysfs are mounted and masked, before the files and the read-only rebinds, in
    /// both the privileged and the unprivileged plan; none without lxcfs.
    @Test(arguments: [false, true]) func bindsSitAfterProcBeforeRebinds(unprivileged: Bool) throws {
        var input = StartPlanGoldenTests.input()
        if unprivileged {
            input.userNamespace = StartPlan.UserNamespace(uidMap: "0 100000 65536\n", gidMap: "0 100000 65536\n", rootUID: 100000, rootGID: 100000)
        }
        let without = try StartPlanner.plan(input)
        #expect(!without.mounts.contains { $0.source?.hasPrefix("/var/lib/lxcfs/") == true })
        input.lxcfs = ("/var/lib/lxcfs", Lxcfs.files)
        let mounts = try StartPlanner.plan(input).mounts
        let binds = mounts.indices.filter { mounts[$0].source?.hasPrefix("/var/lib/lxcfs/") == true }
        #expect(binds.map { mounts[$0].target } == Lxcfs.files)
        #expect(mounts.count == without.mounts.count + Lxcfs.files.count)
        let proc = try #require(mounts.firstIndex { $0.kind == .proc })
        let sysfs = try #require(mounts.firstIndex { $0.kind == .sysfs })
        let lastMask = try #require(mounts.lastIndex { $0.kind == .maskFile || $0.kind == .maskDir })
        let firstRebind = try #require(mounts.firstIndex { $0.kind == .rebind })
        let firstFile = try #require(mounts.firstIndex { $0.kind == .file })
        let first = try #require(binds.first), last = try #require(binds.last)
        #expect(first > proc && first > sysfs && first > lastMask)
        #expect(last < firstRebind && last < firstFile)
    }
}
