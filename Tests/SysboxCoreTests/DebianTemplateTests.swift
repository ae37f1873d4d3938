import Foundation
import Testing
@testable import SysboxCore

@Suite struct DebianTemplateTests {
    func aptDirectory(_ files: [String: String]) throws -> String {
        let dir = NSTemporaryDirectory() + "sysbox-apt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/sources.list.d", withIntermediateDirectories: true)
        for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        return dir
    }

    @Test func mirrorFromDeb822Sources() throws {
        let dir = try aptDirectory([
            "sources.list.d/debian.sources": """
            Types: deb
            URIs: http://mirror.example/debian-security
            Suites: bookworm-security
            Components: main

            Types: deb-src deb
            # a comment
            URIs: http://mirror.example/debian
            Suites: bookworm bookworm-updates
            Components: main
            """
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try DebootstrapBuilder.mirror(nil, suite: "bookworm", aptDirectory: dir) == "http://mirror.example/debian")
        #expect(try DebootstrapBuilder.mirror("", suite: "bookworm", aptDirectory: dir) == "http://mirror.example/debian")
        // Another release comes from the same main archive (never from the security one).
        #expect(try DebootstrapBuilder.mirror(nil, suite: "trixie", aptDirectory: dir) == "http://mirror.example/debian")
    }

    @Test func mirrorFromOneLineSources() throws {
        let dir = try aptDirectory([
            "sources.list":
                "# old style\ndeb-src http://src.example/debian bookworm main\ndeb http://docker.example/linux bookworm stable\ndeb [arch=amd64 signed-by=/k.gpg] http://old.example/debian bookworm main\n",
            "sources.list.d/docker.sources": "Types: deb\nURIs: https://download.example/linux/debian\nSuites: bookworm\nComponents: stable\n"
        ])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try DebootstrapBuilder.mirror(nil, suite: "bookworm", aptDirectory: dir) == "http://old.example/debian")
    }

    @Test func givenMirrorWins() throws {
        let dir = try aptDirectory([:])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(try DebootstrapBuilder.mirror("http://given.example/debian", suite: "bookworm", aptDirectory: dir) == "http://given.example/debian")
        do {
            _ = try DebootstrapBuilder.mirror(nil, suite: "bookworm", aptDirectory: dir)
            Issue.record("no source accepted")
        } catch let e as SysboxError {
            #expect(e.message.contains("give a mirror: sysbox image build debian --mirror"))
        }
        #expect(throws: SysboxError.self) { try DebootstrapBuilder.mirror("ftp://x/debian", suite: "bookworm", aptDirectory: dir) }
    }

    @Test func shippedDebianTemplate() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Templates/debian/template.yaml", encoding: .utf8)
        let m = try TemplateManifest.parse(text, file: "debian/template.yaml")
        #expect(m.builder == "debootstrap" && m.ready == "systemd" && m.networkConfig == "systemd-networkd")
        #expect(m.aliases.contains("debian/12") && m.aliases.contains("debian/bookworm"))
        #expect(try Signals.number(m.stopSignal, what: "") == Int32(sysboxRTMin()) + 3)
        let files = Dictionary(uniqueKeysWithValues: m.rendered(trigger: "start", variables: ["name": "web1", "fqdn": "web1.lab", "machine_id": "0123"]))
        #expect(files["/etc/hosts"]?.contains("127.0.1.1 web1.lab web1\n") == true)
        #expect(files["/etc/machine-id"] == "0123\n")
        #expect(files["/etc/hostname"] == "web1\n")
        #expect(throws: SysboxError.self) { try TemplateManifest.parse(text.replacingOccurrences(of: "ready: systemd", with: "ready: upstart"), file: "t") }
        #expect(throws: SysboxError.self) {
            try TemplateManifest.parse(text.replacingOccurrences(of: "network_config: systemd-networkd", with: "network_config: ifupdown"), file: "t")
        }
    }

    @Test func missingDebootstrapIsNamed() throws {
        let text = try String(contentsOfFile: repositoryRoot + "/Templates/debian/template.yaml", encoding: .utf8)
        let m = try TemplateManifest.parse(text, file: "t")
        let dir = NSTemporaryDirectory() + "sysbox-noboot-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            try DebootstrapBuilder(candidates: ["/nonexistent/debootstrap"]).build(into: dir, manifest: m) { _ in }
            Issue.record("built without debootstrap")
        } catch let e as SysboxError {
            #expect(e.message == "template debian needs debootstrap; install the Debian package debootstrap")
        }
        #expect(!FileManager.default.fileExists(atPath: dir))
    }

    @Test func networkdKeepsWhatSysboxSet() {
        let nic = StartPlan.Nic(
            device: "eth0", name: "eth0", hostName: "sbx00000001", hwaddr: "00:16:3e:00:00:01", address: "10.0.5.2",
            prefix: 24, gateway: "10.0.5.1", bridge: "lab", defaultRoute: true)
        let text = StartPlanner.networkdConfig(nic, domain: "lab")
        #expect(text.contains("[Match]\nName=eth0\n") && text.contains("DNS=10.0.5.1\nDomains=lab\n") && text.contains("KeepConfiguration=yes"))
        #expect(!text.contains("\nAddress=") && !text.contains("DHCP=yes"))
    }
}

@Suite struct CgroupViewTests {
    let hybrid = CgroupLayout(hierarchies: [
        CgroupHierarchy(mountPoint: "/sys/fs/cgroup/memory", controllers: ["memory"], isV2: false),
        CgroupHierarchy(mountPoint: "/sys/fs/cgroup/systemd", controllers: ["name=systemd"], isV2: false),
        CgroupHierarchy(mountPoint: "/sys/fs/cgroup/unified", controllers: [], isV2: true)
    ])

    @Test func hybridHostShowsEveryHierarchyByDefault() {
        let mounts = ContainerCgroup(layout: hybrid, stateDirectory: "/s", name: "c").containerMounts(unifiedOnly: false)
        #expect(mounts.map(\.target) == ["sys/fs/cgroup", "sys/fs/cgroup/memory", "sys/fs/cgroup/systemd", "sys/fs/cgroup/unified", "sys/fs/cgroup"])
        #expect(mounts[2].options == "none,name=systemd")
    }

    @Test func unifiedViewShowsOnlyCgroup2() {
        let mounts = ContainerCgroup(layout: hybrid, stateDirectory: "/s", name: "c").containerMounts(unifiedOnly: true)
        #expect(mounts.count == 1 && mounts[0].target == "sys/fs/cgroup" && mounts[0].fstype == "cgroup2")
        // A pure v1 host has no cgroup2 tree to show: the v1 view stays.
        let v1 = CgroupLayout(hierarchies: [CgroupHierarchy(mountPoint: "/sys/fs/cgroup/memory", controllers: ["memory"], isV2: false)])
        #expect(ContainerCgroup(layout: v1, stateDirectory: "/s", name: "c").containerMounts(unifiedOnly: true).first?.fstype == "tmpfs")
    }
}

@Suite struct CronFiresTests {
    let utc = TimeZone(identifier: "UTC")!
    func date(_ s: String) -> Date { ISO8601DateFormatter().date(from: s)! }

    @Test func hourlyAndDaily() throws {
        let hourly = try CronSchedule.parse("@hourly")
        #expect(hourly.fires(after: date("2026-11-27T10:00:00Z"), upTo: date("2026-11-27T10:59:59Z"), timeZone: utc) == false)
        #expect(hourly.fires(after: date("2026-11-27T10:00:00Z"), upTo: date("2026-11-27T11:00:00Z"), timeZone: utc))
        // The start minute itself is not counted again.
        #expect(hourly.fires(after: date("2026-11-27T11:00:00Z"), upTo: date("2026-11-27T11:30:00Z"), timeZone: utc) == false)
        let daily3 = try CronSchedule.parse("0 3 * * *")
        #expect(daily3.fires(after: date("2026-11-27T02:00:00Z"), upTo: date("2026-11-27T03:00:30Z"), timeZone: utc))
        #expect(daily3.fires(after: date("2026-11-27T03:01:00Z"), upTo: date("2026-11-28T02:59:00Z"), timeZone: utc) == false)
    }

    @Test func daysOfMonthOrWeek() throws {
        // Both day fields restricted: either matches (the 1st, or any Monday). 2026-11-30 is a Monday.
        let s = try CronSchedule.parse("0 0 1 * mon")
        #expect(s.fires(after: date("2026-11-29T12:00:00Z"), upTo: date("2026-11-30T00:00:00Z"), timeZone: utc))
        #expect(s.fires(after: date("2026-11-28T00:00:00Z"), upTo: date("2026-11-29T23:59:00Z"), timeZone: utc) == false)
        // A runner off for a week looks back one day only.
        #expect(try CronSchedule.parse("0 0 1 1 *").fires(after: date("2025-12-31T00:00:00Z"), upTo: date("2026-01-08T00:00:00Z"), timeZone: utc) == false)
    }
}

/// debootstrap's output as progress: packages counted, the total known once retrieval is done, bytes
/// and rate while retrieving; other lines are no step.
@Suite struct DebootstrapProgressTests {
    @Test func stepsCountsBytesAndRate() {
        let start = Date(timeIntervalSince1970: 1000)
        var p = DebootstrapProgress(archives: nil, started: start)
        #expect(p.line("I: Retrieving InRelease ", now: start) == "retrieving 1: InRelease")
        #expect(p.line("I: Retrieving libc6 2.36-9", now: start.addingTimeInterval(2), bytes: 4 << 20) == "retrieving 2: libc6 (4.0MiB, 2.0MiB/s)")
        #expect(p.line("I: Validating libc6 2.36-9") == "validating 1/2: libc6")
        #expect(p.line("I: Extracting libc6...") == "extracting 1/2: libc6")
        #expect(p.line("I: Configuring base-files...") == "configuring 1/2: base-files")
        #expect(p.line("I: Configuring libc6...") == "configuring 2/2: libc6")
        #expect(p.line("I: Configuring tzdata...") == "configuring 2/2: tzdata")  // never past the total
        #expect(p.line("I: Base system installed successfully.") == nil)
        #expect(p.line("W: something") == nil)
    }
}
