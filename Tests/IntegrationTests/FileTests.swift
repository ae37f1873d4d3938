import Foundation
import Testing

/// file push/pull/edit on running and stopped containers; nothing outside the container is reachable.
@Suite(.serialized) struct FileTests {
    static func owner(_ path: String) -> uid_t? {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_uid : nil
    }

    init() throws {
        try #require(getuid() == 0, "the file tests boot real containers and must run as root")
    }

    @Test func pushPullRoundTripsAndNeverLeavesTheContainer() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "f1"])
        var bytes = Data((0..<4096).map { UInt8($0 % 256) })
        bytes.append(contentsOf: [0, 255, 10])
        let local = try s.write("blob", "")
        try bytes.write(to: URL(fileURLWithPath: local))
        chmod(local, 0o640)
        // Into a directory, with the local mode and root:root; back out byte for byte.
        try s.ok(["file", "push", local, "f1/root/"])
        #expect(try s.ok(["exec", "f1", "--", "stat", "-c", "%a %u %g %s", "/root/blob"]) == "640 0 0 4099\n")
        let back = s.root + "/back"
        try s.ok(["file", "pull", "f1/root/blob", back])
        #expect(FileManager.default.contents(atPath: back) == bytes)
        // Owner, mode and missing directories.
        try s.ok(["file", "push", "-p", "--uid", "1000", "--gid", "100", "--mode", "0600", local, "f1/srv/a/b/data"])
        #expect(try s.ok(["exec", "f1", "--", "stat", "-c", "%a %u %g", "/srv/a/b/data"]) == "600 1000 100\n")
        try s.fails(["file", "push", local, "f1/nodir/x"], "its directory (or a link's target) does not exist (use -p to create directories)")
        // Several files into a directory that does not exist yet: -p makes it.
        try s.ok(["file", "push", "-p", local, back, "f1/newdir/"])
        #expect(try s.ok(["exec", "f1", "--", "ls", "/newdir"]) == "back\nblob\n")
        try s.fails(["file", "edit", "f1/newdir/blob"], "standard input is empty: /newdir/blob was not changed")
        // Escapes: the container's symlinks and .. resolve inside it.
        try s.ok(["exec", "f1", "--", "sh", "-c", "ln -s /etc/shadow /root/link && ln -s / /root/up && ln -s ../../../../../../ /root/dots"])
        let shadow = try s.ok(["exec", "f1", "--", "cat", "/etc/shadow"])
        #expect(try s.ok(["file", "pull", "f1/root/link", "-"]) == shadow)
        #expect(try s.ok(["file", "pull", "f1/../../../../etc/hostname", "-"]) == "f1\n")
        #expect(try s.ok(["file", "pull", "f1/root/dots/etc/hostname", "-"]) == "f1\n")
        let marker = "sysbox-escape-\(UUID().uuidString.prefix(8))"
        try s.ok(["file", "push", local, "f1/root/up/tmp/\(marker)"])
        try s.ok(["file", "push", local, "f1/root/dots/tmp/\(marker)-2"])
        #expect(!FileManager.default.fileExists(atPath: "/tmp/\(marker)") && !FileManager.default.fileExists(atPath: "/tmp/\(marker)-2"))
        #expect(try s.run(["exec", "f1", "--", "ls", "/tmp/\(marker)", "/tmp/\(marker)-2"]).status == 0)
        // Trees with -r: directories with their modes, files, links kept as links (never followed).
        let tree = s.root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/a/b", withIntermediateDirectories: true)
        try "deep\n".write(toFile: tree + "/a/b/f", atomically: true, encoding: .utf8)
        chmod(tree + "/a", 0o750)
        try FileManager.default.createSymbolicLink(atPath: tree + "/shadow-link", withDestinationPath: "/etc/shadow")
        try s.ok(["file", "push", "-r", tree, "f1/srv/"])
        #expect(try s.ok(["exec", "f1", "--", "stat", "-c", "%a", "/srv/tree/a"]) == "750\n")
        #expect(try s.ok(["exec", "f1", "--", "cat", "/srv/tree/a/b/f"]) == "deep\n")
        #expect(try s.ok(["exec", "f1", "--", "readlink", "/srv/tree/shadow-link"]) == "/etc/shadow\n")
        try s.fails(["file", "push", tree, "f1/srv/"], "is a directory; push it with -r")
        // A target ending in / is a directory whether it exists or not (issue 14): a missing one is
        // made (0755, root) and receives the tree or the file under its own name; -p makes its parents.
        try s.ok(["file", "push", "-r", tree, "f1/newtop/"])
        #expect(try s.ok(["exec", "f1", "--", "cat", "/newtop/tree/a/b/f"]) == "deep\n")
        #expect(try s.ok(["exec", "f1", "--", "stat", "-c", "%a %u %g", "/newtop"]) == "755 0 0\n")
        try s.ok(["file", "push", local, "f1/newfile/"])
        #expect(try s.ok(["exec", "f1", "--", "stat", "-c", "%a %u %g %s", "/newfile/blob"]) == "640 0 0 4099\n")
        try s.fails(["file", "push", local, "f1/no/dir/"], "cannot create /no/dir in container f1: its parent /no does not exist (use -p to create directories)")
        try s.fails(["file", "push", "-r", tree, "f1/no/dir/"], "its parent /no does not exist (use -p to create directories)")
        try s.ok(["file", "push", "-r", "-p", tree, "f1/deep/er/"])
        #expect(try s.ok(["exec", "f1", "--", "cat", "/deep/er/tree/a/b/f"]) == "deep\n")
        // Without the /, a missing target is the tree's new name (as cp -r).
        try s.ok(["file", "push", "-r", tree, "f1/renamed"])
        #expect(try s.ok(["exec", "f1", "--", "cat", "/renamed/a/b/f"]) == "deep\n")
        let pulled = s.root + "/pulled"
        try s.ok(["file", "pull", "-r", "f1/srv/tree", pulled])
        #expect(try String(contentsOfFile: pulled + "/a/b/f", encoding: .utf8) == "deep\n")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: pulled + "/shadow-link") == "/etc/shadow")
        try s.ok(["exec", "f1", "--", "ln", "-s", "/", "/srv/tree/up"])
        try s.ok(["file", "pull", "-r", "f1/srv/tree", pulled + "2"])
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: pulled + "2/up") == "/")
        // Into an existing directory: under the tree's name; a second time that exists.
        try s.ok(["file", "pull", "-r", "f1/srv/tree", pulled])
        #expect(FileManager.default.fileExists(atPath: pulled + "/tree/a/b/f"))
        try s.fails(["file", "pull", "-r", "f1/srv/tree", pulled], "\(pulled)/tree exists; pull into a new path")
        // Bad input.
        try s.fails(["file", "pull", "f1/nosuch", "-"], "cannot open /nosuch in container f1: ENOENT")
        try s.fails(["file", "pull", "f1/root", "-"], "/root in container f1 is a directory; pull it with -r")
        try s.fails(["file", "pull", "f1-no-slash", "-"], "expected CONTAINER/PATH")
        try s.fails(["file", "pull", "nosuch/etc/hostname", "-"], "container nosuch not found")
        // Stopped (overlay): the same, and nothing stays mounted.
        try s.ok(["stop", "--force", "f1"])
        try s.ok(["file", "push", local, "f1/root/while-stopped"])
        #expect(try s.ok(["file", "pull", "f1/etc/hostname", "-"]) == "f1\n")
        #expect(try s.ok(["file", "pull", "f1/root/link", "-"]) == shadow)
        #expect(s.leftovers() == [])
        // edit from standard input keeps owner and mode.
        try s.ok(["file", "edit", "f1/srv/a/b/data"], stdin: "edited\n")
        try s.ok(["start", "f1"])
        #expect(try s.ok(["exec", "f1", "--", "cat", "/srv/a/b/data"]) == "edited\n")
        #expect(try s.ok(["exec", "f1", "--", "stat", "-c", "%a %u %g", "/srv/a/b/data"]) == "600 1000 100\n")
        #expect(try s.ok(["exec", "f1", "--", "cmp", "/root/while-stopped", "/root/blob"]) == "")
        try s.ok(["delete", "--force", "f1"])
        #expect(s.leftovers() == [])
    }

    /// `file create` and `file delete` (LXD 5.x), on a running unprivileged container and a stopped one:
    /// owners in container ids, symlinks made and removed as links, never followed out of the container.
    @Test func createAndDelete() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["launch", "busybox", "c1"])
        func stat(_ path: String) throws -> String { try s.ok(["exec", "c1", "--", "stat", "-c", "%F %a %u %g", path]) }
        try s.ok(["file", "create", "c1/root/empty"])
        #expect(try stat("/root/empty") == "regular empty file 644 0 0\n")
        try s.ok(["file", "create", "-p", "--type", "directory", "--mode", "0750", "--uid", "1000", "--gid", "100", "c1/srv/a/b"])
        #expect(try stat("/srv/a/b") == "directory 750 1000 100\n")
        #expect(try stat("/srv/a") == "directory 755 0 0\n")
        try s.ok(["file", "create", "--type", "symlink", "c1/root/link", "/etc/shadow"])
        #expect(try s.ok(["exec", "c1", "--", "readlink", "/root/link"]) == "/etc/shadow\n")
        // Existing: refused, or -f of the same type.
        try s.fails(["file", "create", "c1/root/empty"], "/root/empty exists in container c1; use -f to overwrite it")
        try s.ok(["exec", "c1", "--", "sh", "-c", "echo data > /root/empty"])
        try s.ok(["file", "create", "-f", "--mode", "0600", "c1/root/empty"])
        #expect(try stat("/root/empty") == "regular empty file 600 0 0\n")
        try s.fails(["file", "create", "-f", "--type", "directory", "c1/root/empty"], "/root/empty in container c1 is not a directory")
        try s.fails(["file", "create", "--type", "dir", "c1/root/x"], "--type \"dir\" is not a type")
        try s.fails(["file", "create", "--type", "symlink", "c1/root/x"], "a symlink needs its target")
        try s.fails(["file", "create", "c1/nodir/x"], "cannot open /nodir in container c1: ENOENT")
        try s.fails(["file", "create", "c1/"], "names no file in container c1")
        try s.fails(["file", "create", "--uid", "70000", "c1/root/x"], "uid 70000 does not exist in container c1")
        // Delete: a link, never its target; a directory only when empty, or with -f.
        try s.ok(["file", "delete", "c1/root/link"])
        #expect(try s.ok(["exec", "c1", "--", "sh", "-c", "test -e /root/link || echo gone; test -s /etc/shadow && echo kept"]) == "gone\nkept\n")
        try s.fails(["file", "delete", "c1/srv/a"], "/srv/a in container c1 is a directory that is not empty; delete it with -f")
        try s.ok(["exec", "c1", "--", "sh", "-c", "touch /srv/a/b/f && ln -s / /srv/a/up"])
        try s.ok(["file", "delete", "-f", "c1/srv/a"])
        #expect(try s.ok(["exec", "c1", "--", "sh", "-c", "test -e /srv/a || echo gone; ls / | grep -c etc"]) == "gone\n1\n")
        try s.fails(["file", "delete", "c1/srv/a"], "cannot delete /srv/a in container c1: ENOENT")
        try s.fails(["file", "delete", "c1/"], "names no file in container c1")
        // Mounts are never crossed: a disk's host files are neither emptied nor given to the container's
        // root, whether the path is the mount itself or above it.
        try s.ok(["stop", "--force", "c1"])
        let hostDir = s.root + "/hostdir"
        try FileManager.default.createDirectory(atPath: hostDir + "/sub", withIntermediateDirectories: true)
        let kept = try s.write("hostdir/sub/kept", "host\n")
        let hostFile = try s.write("hostfile", "keep\n")
        try s.ok(["config", "device", "add", "c1", "d", "disk", "source=\(hostDir)", "path=/srv/d"])
        try s.ok(["config", "device", "add", "c1", "f", "disk", "source=\(hostFile)", "path=/root/hf"])
        try s.ok(["start", "c1"])
        try s.fails(["file", "delete", "-f", "c1/srv/d"], "/srv/d in container c1 is or holds a mount (a disk device?); sysbox does not delete across mounts")
        try s.fails(["file", "delete", "-f", "c1/srv"], "is or holds a mount (a disk device?); sysbox does not delete across mounts")
        try s.fails(["file", "create", "-f", "c1/root/hf"], "/root/hf in container c1 is or holds a mount (a disk device?); sysbox does not create across mounts")
        #expect(FileManager.default.contents(atPath: kept) == Data("host\n".utf8))
        #expect(FileManager.default.contents(atPath: hostFile) == Data("keep\n".utf8))
        #expect(Self.owner(hostFile) == 0)
        try s.ok(["config", "device", "remove", "c1", "d", "f"])
        // Stopped: the same, through its root filesystem; the host's files stay out of reach.
        try s.ok(["stop", "--force", "c1"])
        #expect(try s.ok(["file", "pull", "c1/root/hf", "-"]) == "")  // the empty mount point
        try s.ok(["file", "delete", "c1/root/hf"])
        let outside = try s.write("outside", "host\n")
        try s.ok(["file", "create", "--type", "symlink", "c1/root/out", outside])
        try s.ok(["file", "delete", "c1/root/out"])
        #expect(FileManager.default.fileExists(atPath: outside))
        try s.ok(["file", "delete", "c1/root/empty"])
        try s.ok(["start", "c1"])
        #expect(try s.ok(["exec", "c1", "--", "ls", "-A", "/root"]) == "")
        try s.ok(["delete", "--force", "c1"])
        #expect(s.leftovers() == [])
    }
}
