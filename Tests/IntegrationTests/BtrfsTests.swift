import Foundation
import Testing

/// The btrfs driver on a loop-mounted btrfs file of the test's own (package btrfs-progs).
@Suite(.serialized) struct BtrfsTests {
    init() throws {
        try #require(getuid() == 0, "the btrfs tests mount a filesystem and must run as root")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/mkfs.btrfs"), "mkfs.btrfs is missing: run scripts/setup.sh (btrfs-progs)")
    }

    func subvolumes(_ mount: String) throws -> [String] {
        try runProcess("/usr/bin/btrfs", ["subvolume", "list", "-o", mount]).stdout.split(separator: "\n").compactMap { line in
            line.split(separator: " ").last.map(String.init)
        }.sorted()
    }

    @Test func containersSnapshotsAndCopiesAreSubvolumes() throws {
        let scratch = NSTemporaryDirectory() + "sysbox-btrfs-\(UUID().uuidString.prefix(8))"
        let image = scratch + ".img", mount = scratch + "-mnt"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: image, contents: nil))
        defer {
            // Whatever a failed test left running on the filesystem goes before it is unmounted.
            if let s = try? Sandbox(),
                let names = try? s.run(["list", "--format", "csv,noheader"], env: ["SYSBOX_DIR": mount + "/state"]).stdout
                    .split(separator: "\n").map({ String($0.split(separator: ",")[0]) }), !names.isEmpty
            {
                _ = try? s.run(["delete", "--force"] + names, env: ["SYSBOX_DIR": mount + "/state"])
            }
            _ = try? runProcess("/usr/bin/umount", [mount])
            try? FileManager.default.removeItem(atPath: mount)
            try? FileManager.default.removeItem(atPath: image)
        }
        try #require(truncate(image, 1 << 30) == 0)
        try #require(try runProcess("/usr/sbin/mkfs.btrfs", ["-q", image]).status == 0)
        let mounted = try runProcess("/usr/bin/mount", ["-o", "loop", image, mount])
        try #require(mounted.status == 0, "\(mounted.stderr)")

        let s = try Sandbox()
        let env = ["SYSBOX_DIR": mount + "/state"]
        @discardableResult
        func ok(_ args: [String]) throws -> String {
            let r = try s.run(args, env: env)
            #expect(r.status == 0, "sysbox \(args.joined(separator: " ")): \(r.stderr)")
            return r.stdout
        }
        try ok(["profile", "device", "remove", "default", "eth0"])
        try ok(["launch", "busybox", "b1"])
        #expect(try runProcess("/usr/bin/sqlite3", [mount + "/state/sysbox.db", "SELECT value FROM settings WHERE key = 'storage.driver'"]).stdout == "btrfs\n")
        try ok(["exec", "b1", "--", "sh", "-c", "echo one > /root/f"])
        #expect(try ok(["storage", "info"]).hasPrefix("Driver: btrfs\n"))
        try ok(["snapshot", "create", "b1", "s0"])
        try ok(["exec", "b1", "--", "sh", "-c", "echo two > /root/f"])
        try ok(["copy", "b1", "b2"])
        let subs = try subvolumes(mount)
        #expect(
            subs.contains { $0.hasSuffix("state/containers/b1/rootfs") } && subs.contains { $0.hasSuffix("state/containers/b1/snapshots/s0/data") }
                && subs.contains { $0.hasSuffix("state/containers/b2/rootfs") } && subs.contains { $0.hasSuffix("state/containers/b2/snapshots/s0/data") }
                && subs.contains { $0.contains("state/images/") && $0.hasSuffix("/rootfs") }, "\(subs)")
        try ok(["snapshot", "restore", "b1", "s0", "--force"])
        #expect(try ok(["exec", "b1", "--", "cat", "/root/f"]) == "one\n")
        try ok(["start", "b2"])
        #expect(try ok(["exec", "b2", "--", "cat", "/root/f"]) == "two\n")
        try ok(["snapshot", "delete", "b2", "s0"])
        // A subvolume made inside a container's root filesystem (as machined or a nested btrfs user
        // would): deleting the container deletes it first (the root's destroy says ENOTEMPTY).
        let nested = mount + "/state/containers/b2/rootfs/var/nested"
        #expect(try runProcess("/usr/bin/btrfs", ["-q", "subvolume", "create", nested]).status == 0)
        #expect(try runProcess("/usr/bin/btrfs", ["-q", "subvolume", "create", nested + "/deeper"]).status == 0)
        try ok(["delete", "--force", "b1", "b2"])
        let remaining = try subvolumes(mount)
        #expect(remaining.allSatisfy { $0.contains("state/images/") }, "\(remaining)")
        try ok(["image", "delete", "busybox"])
        #expect(try subvolumes(mount) == [])
        // No process, cgroup or mount of the btrfs state directory is left (the loop mount is the test's).
        #expect(s.leftovers(stateDirectory: mount + "/state") == [])
        #expect(try runProcess("/usr/bin/umount", [mount]).status == 0)
    }
}
