import Foundation

/// Makes a root filesystem for a template. Builders run on the host as root and write only under
/// `rootfs`, a new empty directory.
protocol ImageBuilder {
    func build(into rootfs: String, manifest: TemplateManifest, progress: (String) -> Void) throws
}

enum Builders {
    static func named(_ name: String) throws -> ImageBuilder {
        switch name {
        case "busybox": return BusyboxBuilder()
        case "debootstrap": return DebootstrapBuilder()
        default: throw SysboxError.invalid("unknown builder \(name)")
        }
    }
}

/// A tiny full system from the host's static busybox: busybox init with an inittab that runs rcS and
/// keeps a shell on the console, every applet as a symlink, and minimal /etc.
struct BusyboxBuilder: ImageBuilder {
    static let candidates = ["/bin/busybox", "/usr/bin/busybox"]

    /// Whether an ELF64 little-endian executable has a PT_INTERP program header (is dynamically linked).
    static func hasInterpreter(_ elf: Data) -> Bool {
        let b = [UInt8](elf.prefix(65536))
        guard b.count > 64, b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46, b[4] == 2, b[5] == 1 else { return false }
        func u(_ off: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 | Int(b[off + $1]) << (8 * $1) } }
        let phoff = u(32, 8), phentsize = u(54, 2), phnum = u(56, 2)
        for i in 0..<phnum {
            let off = phoff + i * phentsize
            guard off + 4 <= b.count else { break }
            if u(off, 4) == 3 { return true }  // PT_INTERP
        }
        return false
    }

    func build(into rootfs: String, manifest: TemplateManifest, progress: (String) -> Void) throws {
        guard let busybox = Self.candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw SysboxError(.io, "template \(manifest.name) needs a static busybox: apt-get install busybox-static")
        }
        // A dynamically linked busybox would need the host's libraries inside the container.
        if Self.hasInterpreter(FileManager.default.contents(atPath: busybox) ?? Data()) {
            throw SysboxError(.io, "\(busybox) is dynamically linked; template \(manifest.name) needs the static one: apt-get install busybox-static")
        }
        progress("copying \(busybox)")
        let fm = FileManager.default
        for dir in ["bin", "sbin", "usr/bin", "usr/sbin", "etc/init.d", "proc", "sys", "dev", "tmp", "root", "run", "var/log", "home", "mnt"] {
            try fm.createDirectory(atPath: rootfs + "/" + dir, withIntermediateDirectories: true, attributes: [.posixPermissions: dir == "tmp" ? 0o1777 : 0o755])
        }
        chmod(rootfs + "/tmp", 0o1777)
        chmod(rootfs + "/root", 0o700)
        try fm.copyItem(atPath: busybox, toPath: rootfs + "/bin/busybox")
        chmod(rootfs + "/bin/busybox", 0o755)
        progress("linking applets")
        let applets = try Host.run([busybox, "--list-full"], what: "listing busybox applets")
        for applet in applets.split(separator: "\n").map(String.init) where !applet.isEmpty && applet != "bin/busybox" {
            guard !applet.contains(".."), !applet.hasPrefix("/") else { continue }
            let path = rootfs + "/" + applet
            if fm.fileExists(atPath: path) { continue }
            try fm.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.createSymbolicLink(atPath: path, withDestinationPath: "/bin/busybox")
        }
        progress("writing /etc")
        let files: [(String, String, Int)] = [
            (
                "etc/inittab",
                """
                # busybox init: rcS at boot, a shell on the console, clean shutdown.
                ::sysinit:/etc/init.d/rcS
                ::respawn:-/bin/sh
                ::ctrlaltdel:/sbin/reboot
                ::shutdown:/bin/sync

                """, 0o644
            ),
            (
                "etc/init.d/rcS",
                """
                #!/bin/sh
                mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
                mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
                [ -f /etc/hostname ] && hostname -F /etc/hostname

                """, 0o755
            ),
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644),
            ("etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n", 0o644),
            ("etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o600),
            ("etc/profile", "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\nexport PS1='\\h:\\w\\$ '\n", 0o644),
            ("etc/os-release", "NAME=BusyBox\nID=busybox\nPRETTY_NAME=\"BusyBox (sysbox)\"\n", 0o644),
            ("etc/hostname", "busybox\n", 0o644)
        ]
        for (path, text, mode) in files {
            guard fm.createFile(atPath: rootfs + "/" + path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                throw SysboxError(.io, "cannot write \(rootfs)/\(path)")
            }
        }
    }
}
