import Foundation
import Testing

/// Debian with systemd as PID 1: built once (debootstrap from the host's APT mirror), booted, stopped,
/// rebooted, on a network of its own. Root only.
@Suite(.serialized) struct DebianTests {
    init() throws {
        try #require(getuid() == 0, "the Debian tests boot real containers and must run as root")
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/sbin/debootstrap"), "debootstrap is missing: run scripts/setup.sh")
    }

    @discardableResult
    func sh(_ s: Sandbox, _ name: String, _ command: String) throws -> String {
        try s.ok(["exec", name, "--", "sh", "-c", command])
    }

    @Test func systemdBootsStopsRebootsAndResolves() throws {
        let s = try Sandbox()
        let net = "sbt" + String(UUID().uuidString.lowercased().filter(\.isHexDigit).prefix(12))
        try s.ok(["network", "create", net])
        try s.ok(["profile", "device", "set", "default", "eth0", "network=\(net)"])
        // On a terminal (script(1)): one line updated in place with the step, packages done of the
        // total, and while retrieving the bytes and the rate; the final line stays.
        let binDir = URL(fileURLWithPath: s.binary).deletingLastPathComponent().path
        let build = try runProcess(
            "/usr/bin/script", ["-qec", "sysbox image build debian", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir, "PATH": binDir + ":/usr/sbin:/usr/bin:/sbin:/bin", "COLUMNS": "200"])
        #expect(build.status == 0, "\(build.stdout)")
        let shown = build.stdout
        #expect(shown.contains("\r\u{1b}[Kbuilding image debian: debootstrap bookworm from "), "\(shown.suffix(500))")
        #expect(
            shown.range(of: #"building image debian: retrieving [0-9]+: [a-z0-9.+-]+ \([0-9.]+[KMG]?i?B, [0-9.]+[KMG]?i?B/s\)"#, options: .regularExpression) != nil,
            "\(shown.suffix(500))")
        #expect(shown.range(of: #"building image debian: configuring [0-9]+/[0-9]+: "#, options: .regularExpression) != nil, "\(shown.suffix(500))")
        #expect(shown.contains("\r\u{1b}[Kbuilt image debian ("), "\(shown.suffix(300))")
        print("debian image: \(shown.split(separator: "\r").last ?? "")")

        // launch --wait returns once systemd has finished booting.
        let started = Date()
        let launch = try s.run(["launch", "debian", "web1", "--wait"])
        print("launch debian --wait: \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        #expect(launch.status == 0, "\(launch.stderr)")
        #expect(launch.stdout == "Creating web1\nStarting web1\nrunning\n")
        #expect(try s.ok(["exec", "web1", "--", "systemctl", "is-system-running"]) == "running\n")
        #expect(try s.ok(["wait", "web1"]) == "running\n")
        // The container interface systemd sees.
        #expect(try s.ok(["exec", "web1", "--", "systemd-detect-virt", "--container"]) == "container-other\n")
        #expect(try sh(s, "web1", "cat /run/host/container-manager") == "sysbox\n")
        #expect(try sh(s, "web1", "findmnt -n -o OPTIONS /sys").hasPrefix("ro,"))
        // lxcfs: procps's free reads /proc/meminfo, which follows a live memory limit; uptime is the container's.
        #expect(try sh(s, "web1", "findmnt -n -o FSTYPE /proc/meminfo") == "fuse.lxcfs\n")
        try s.ok(["config", "set", "web1", "limits.memory=256MiB"])
        #expect(try sh(s, "web1", "free -m | awk '/^Mem:/ {print $2}'") == "256\n")
        try s.ok(["config", "unset", "web1", "limits.memory"])
        #expect((Double(try sh(s, "web1", "cut -d' ' -f1 /proc/uptime").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1) < 300)
        #expect(try sh(s, "web1", ". /etc/os-release; echo $ID $VERSION_ID") == "debian 12\n")
        // A machine-id of its own, from the container's UUID.
        let uuid = try s.ok(["config", "get", "web1", "volatile.uuid"]).trimmingCharacters(in: .newlines)
        #expect(try sh(s, "web1", "cat /etc/machine-id") == uuid.replacingOccurrences(of: "-", with: "") + "\n")
        // systemctl starts and stops units; the journal works.
        try s.ok(["exec", "web1", "--", "systemd-run", "--unit=sbxprobe", "sleep", "300"])
        #expect(try sh(s, "web1", "systemctl is-active sbxprobe") == "active\n")
        try s.ok(["exec", "web1", "--", "systemctl", "stop", "sbxprobe"])
        #expect(try s.run(["exec", "web1", "--", "systemctl", "is-active", "sbxprobe"]).stdout == "inactive\n")
        try s.ok(["exec", "web1", "--", "logger", "-t", "sbxtest", "hello-journal"])
        try waitUntil { (try s.run(["exec", "web1", "--", "journalctl", "-t", "sbxtest", "--no-pager", "-o", "cat"])).stdout.contains("hello-journal") }
        // The address sysbox set survives the guest's own network configuration.
        let address = try #require(try s.ok(["network", "list-leases", net, "--format", "csv,noheader"]).split(separator: ",").dropFirst(3).first.map(String.init))
        #expect(try sh(s, "web1", "ip -4 -o addr show eth0").contains("inet \(address)/24"))
        #expect(try sh(s, "web1", "networkctl --no-pager --no-legend list eth0").contains("configured"))
        // Names: its own (hostname, hostname -f, getent) and another container's, through dnsmasq.
        #expect(try sh(s, "web1", "hostname; hostname -f") == "web1\nweb1.sysbox\n")
        #expect(try sh(s, "web1", "getent hosts web1").hasPrefix("127.0.1.1"))
        // `wait --timeout` gives up with a clear line while systemd still boots (a boot takes 0.3 s or more
        // here: never within 20 ms), then waits it out.
        try s.ok(["launch", "debian", "web2"])
        let early = try s.run(["wait", "web2", "--timeout", "0.02"])
        #expect(early.status != 0 && early.stderr.contains("container web2 did not finish booting within"), "\(early.stderr)")
        #expect(try s.ok(["wait", "web2"]) == "running\n")
        try waitUntil { (try s.run(["exec", "web1", "--", "getent", "hosts", "web2"])).stdout.contains("web2.sysbox") }
        #expect(try sh(s, "web2", "getent hosts web1.sysbox").hasPrefix(address + " "))
        // A login shell as root.
        #expect(try s.run(["shell", "web1"], stdin: "echo $HOME $0; exit 3\n").stdout == "/root -bash\n")
        #expect(try s.run(["shell", "web1"], stdin: "exit 3\n").status == 3)

        // Clean stop: fast, recorded as such.
        let stopStart = Date()
        try s.ok(["stop", "web1"])
        let stopMs = Int(Date().timeIntervalSince(stopStart) * 1000)
        print("clean stop of debian: \(stopMs) ms")
        #expect(stopMs < 30_000)
        #expect(try s.ok(["info", "web1"]).contains("Last stop: clean"))
        #expect(try s.ok(["list", "web1", "--format", "csv,noheader"]).hasPrefix("web1,STOPPED,"))
        // Reboot from inside: a new boot, running again.
        try s.ok(["start", "web1"])
        try s.ok(["wait", "web1"])
        let bootID = try sh(s, "web1", "cat /proc/sys/kernel/random/boot_id; cat /proc/1/stat | cut -d' ' -f22")
        _ = try s.run(["exec", "web1", "--", "systemctl", "reboot"])
        try waitUntil(seconds: 30) {
            let r = try s.run(["exec", "web1", "--", "sh", "-c", "cat /proc/sys/kernel/random/boot_id; cat /proc/1/stat | cut -d' ' -f22"])
            return r.status == 0 && r.stdout != bootID
        }
        #expect(try s.ok(["wait", "web1"]) == "running\n")
        #expect(try s.ok(["info", "web1"]).contains("Last stop: reboot from inside"))
        // poweroff from inside stops it.
        _ = try s.run(["exec", "web1", "--", "systemctl", "poweroff"])
        try waitUntil(seconds: 30) { try s.ok(["list", "web1", "--format", "csv,noheader"]).hasPrefix("web1,STOPPED,") }
        #expect(try s.ok(["info", "web1"]).contains("Last stop: clean"))

        // A unit that fails: wait says degraded and names it (exit 1); stop still works.
        try s.ok(["start", "web1"])
        try s.ok(["wait", "web1"])
        try sh(
            s, "web1", "printf '[Service]\\nExecStart=/bin/false\\n[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/sbxfail.service && systemctl enable -q sbxfail")
        try s.ok(["restart", "web1"])
        let degraded = try s.run(["wait", "web1"])
        #expect(degraded.status == 1)
        #expect(degraded.stdout == "degraded\n")
        #expect(degraded.stderr.contains("failed units: sbxfail.service"), "\(degraded.stderr)")
        // A service that takes long to stop: stop --timeout kills after the timeout.
        try sh(
            s, "web1",
            "printf '[Service]\\nExecStart=/bin/sleep 600\\nExecStop=/bin/sleep 120\\nTimeoutStopSec=180\\n' > /etc/systemd/system/sbxslow.service && systemctl start sbxslow")
        let slowStart = Date()
        try s.ok(["stop", "web1", "--timeout", "2"])
        let slowMs = Int(Date().timeIntervalSince(slowStart) * 1000)
        #expect(slowMs >= 2000 && slowMs < 15_000, "\(slowMs) ms")
        #expect(try s.ok(["info", "web1"]).contains("Last stop: killed"))
        // Memory of one idle booted Debian container, for the record.
        print("web2 info:\n" + (try s.ok(["info", "web2"])))

        // Unprivileged (its own user namespace and id range, the image idmapped): systemd boots to
        // running with no failed unit, makes its own cgroups (delegated), the network works; reboot and
        // poweroff from inside, and a clean stop.
        try s.ok(["launch", "debian", "web3", "-c", "security.privileged=false"])
        let state = try s.run(["wait", "web3"])
        #expect(state.stdout == "running\n", "\(state.stdout) \(state.stderr)")
        #expect(try s.run(["exec", "web3", "--", "systemctl", "--failed", "--no-legend", "--no-pager"]).stdout == "")
        let uidMap = try sh(s, "web3", "cat /proc/1/uid_map").split(whereSeparator: \.isWhitespace)
        #expect(uidMap.count == 3 && uidMap[0] == "0" && (Int(uidMap[1]) ?? 0) >= 1_000_000 && uidMap[2] == "65536", "\(uidMap)")
        #expect(try sh(s, "web3", "ls /sys/fs/cgroup/systemd/").contains("init.scope"))
        #expect(try sh(s, "web3", "networkctl --no-pager --no-legend list eth0").contains("configured"))
        try waitUntil { (try s.run(["exec", "web3", "--", "getent", "hosts", "web2"])).stdout.contains("web2.sysbox") }
        let bootID3 = try sh(s, "web3", "cat /proc/sys/kernel/random/boot_id; cat /proc/1/stat | cut -d' ' -f22")
        _ = try s.run(["exec", "web3", "--", "systemctl", "reboot"])
        try waitUntil(seconds: 30) {
            let r = try s.run(["exec", "web3", "--", "sh", "-c", "cat /proc/sys/kernel/random/boot_id; cat /proc/1/stat | cut -d' ' -f22"])
            return r.status == 0 && r.stdout != bootID3
        }
        #expect(try s.ok(["wait", "web3"]) == "running\n")
        _ = try s.run(["exec", "web3", "--", "systemctl", "poweroff"])
        try waitUntil(seconds: 30) { try s.ok(["list", "web3", "--format", "csv,noheader"]).hasPrefix("web3,STOPPED,") }
        #expect(try s.ok(["info", "web3"]).contains("Last stop: clean"))
        try s.ok(["start", "web3"])
        #expect(try s.ok(["wait", "web3"]) == "running\n")
        try s.ok(["stop", "web3"])
        #expect(try s.ok(["info", "web3"]).contains("Last stop: clean"))

        try s.ok(["delete", "--force", "web1", "web2", "web3"])
        try s.ok(["profile", "device", "remove", "default", "eth0"])
        try s.ok(["network", "delete", net])
        #expect(s.leftovers() == [])
        #expect(s.networkLeftovers() == [])
    }

    /// Debian 13: systemd 257 refuses cgroup v1 and hybrid layouts, so it sees only the cgroup2 tree.
    @Test func trixieBootsOnTheUnifiedTree() throws {
        let s = try Sandbox.withoutNIC()
        let launch = try s.run(["launch", "debian/13", "t13", "--wait"])
        #expect(launch.status == 0, "\(launch.stderr)")
        #expect(launch.stdout.hasSuffix("running\n"))
        #expect(try sh(s, "t13", ". /etc/os-release; echo $VERSION_ID") == "13\n")
        #expect(try sh(s, "t13", "stat -f -c %T /sys/fs/cgroup") == "cgroup2fs\n")
        #expect(try s.ok(["exec", "t13", "--", "systemctl", "is-system-running"]) == "running\n")
        try s.ok(["stop", "t13"])
        #expect(try s.ok(["info", "t13"]).contains("Last stop: clean"))
        try s.ok(["delete", "t13"])
        #expect(s.leftovers() == [])
    }

    @Test func unreachableMirrorKeepsNothing() throws {
        let s = try Sandbox()
        // Progress lines, then the one error line.
        let r = try s.run(["image", "build", "debian", "--mirror", "http://127.0.0.1:9/debian"])
        #expect(r.status != 0)
        let last = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(
            last.hasPrefix("Error: cannot build image debian: debootstrap bookworm from http://127.0.0.1:9/debian failed (exit status 1): Failed getting release file"),
            "\(r.stderr)")
        #expect(last.hasSuffix("; nothing was kept"))
        let images = (try? FileManager.default.contentsOfDirectory(atPath: s.stateDir + "/images")) ?? []
        #expect(images.isEmpty, "\(images)")
        #expect(try s.ok(["image", "list", "--format", "csv,noheader"]) == "")
        try s.fails(["image", "build", "debian", "--mirror", "ftp://mirror"], "mirror \"ftp://mirror\" is not an http, https or file URL")
        // The directory of a build whose process died (kill -9) goes at the next command.
        try FileManager.default.createDirectory(atPath: s.stateDir + "/images/.build-999999-dead/rootfs/etc", withIntermediateDirectories: true)
        try s.ok(["list"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: s.stateDir + "/images") == [])
        try s.fails(["image", "build", "busybox", "--mirror", "http://x/debian"], "template busybox (builder busybox) takes no --mirror")
    }
}
