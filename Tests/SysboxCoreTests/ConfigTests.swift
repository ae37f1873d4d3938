import Testing
@testable import SysboxCore

@Suite struct ConfigKeyTests {
    @Test(arguments: [
        ("limits.cpu", "2"), ("limits.cpu", "0-1"), ("limits.cpu", "0,2-3"), ("limits.cpu", "1-1"),
        ("limits.memory", "512MiB"), ("limits.memory", "2GiB"), ("limits.memory", "1.5GB"), ("limits.memory", "50%"),
        ("limits.memory", "1073741824"), ("limits.processes", "500"), ("security.privileged", "true"),
        ("security.nesting", "FALSE"), ("security.nesting", "yes"), ("boot.autostart", "1"),
        ("boot.autostart.priority", "-3"), ("boot.stop.priority", "10"), ("environment.TZ", "UTC"),
        ("environment._X1", ""), ("user.anything", "free text: with colons"), ("snapshots.schedule", "@daily"),
        ("snapshots.schedule", "0 3 * * *"), ("snapshots.schedule", "*/15 * * * 1-5, @startup"),
        ("snapshots.expiry", "2d"), ("snapshots.expiry", "1w 3d 4H"), ("snapshots.pattern", "snap%d"),
        ("snapshots.pattern", "daily-%d")
    ])
    func validValues(_ key: String, _ value: String) throws {
        try InstanceConfig.validate(key, value)
    }

    @Test(arguments: [
        ("limits.cpu", "0", "1 to 8192"), ("limits.cpu", "3-1", "backwards"), ("limits.cpu", "a", "CPU set"),
        ("limits.cpu", "0,,1", "CPU set"), ("limits.memory", "512XB", "size"), ("limits.memory", "0", "1MiB"),
        ("limits.memory", "101%", "percentage"), ("limits.memory", "-1GiB", "size"), ("limits.processes", "0", "integer from 1"),
        ("limits.processes", "ten", "integer"), ("security.privileged", "maybe", "true or false"),
        ("boot.autostart.priority", "1.5", "integer"), ("environment.1X", "v", "variable name"),
        ("environment.A-B", "v", "variable name"), ("user.", "v", "needs a name"), ("snapshots.schedule", "0 3 * *", "5"),
        ("snapshots.schedule", "61 * * * *", "out of range"), ("snapshots.schedule", "@fortnightly", "unknown shorthand"),
        ("snapshots.schedule", "0 0 * foo *", "out of range"), ("snapshots.expiry", "2 days", "duration"),
        ("snapshots.expiry", "2x", "duration"), ("snapshots.pattern", "snap/%d", "invalid"),
        ("snapshots.pattern", "", "empty"), ("limits.memory", "", "size"),
        ("environment.A", "1\nX=2", "line break"), ("user.x", "a\u{0}b", "NUL")
    ])
    func invalidValues(_ key: String, _ value: String, _ reason: String) {
        do {
            try InstanceConfig.validate(key, value)
            Issue.record("\(key)=\(value) was accepted")
        } catch let error as SysboxError {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(key) || error.message.contains(String(key.split(separator: ".").last ?? "")))
            #expect(error.message.contains(reason), "\(error.message) should mention \(reason)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func unknownKeysGetSuggestions() {
        for (typo, fix) in [
            ("limits.memroy", "limits.memory"), ("limit.memory", "limits.memory"), ("security.privilegd", "security.privileged"),
            ("snapshot.schedule", "snapshots.schedule"), ("enviroment.FOO", "environment.FOO"), ("boot.autostrat", "boot.autostart")
        ] {
            do {
                try InstanceConfig.validate(typo, "1")
                Issue.record("\(typo) accepted")
            } catch let error as SysboxError {
                #expect(error.message == "unknown config key \(typo); did you mean \(fix)?")
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        #expect(InstanceConfig.suggestion(for: "completely.different") == "")
    }

    @Test func volatileIsReadOnlyForUsers() throws {
        #expect(throws: SysboxError.self) { try InstanceConfig.validate("volatile.uuid", "x", writer: .user) }
        #expect(throws: SysboxError.self) { try InstanceConfig.validateUnset("volatile.eth0.hwaddr", writer: .user) }
        try InstanceConfig.validate("volatile.uuid", "x", writer: .system)
        try InstanceConfig.validateUnset("volatile.uuid", writer: .system)
    }

    @Test func registryMetadata() {
        #expect(InstanceConfig.defaultValue("snapshots.pattern") == "snap%d")
        #expect(InstanceConfig.defaultValue("security.privileged") == "false")
        #expect(InstanceConfig.defaultValue("limits.memory") == nil)
        #expect(InstanceConfig.isLive("limits.memory"))
        #expect(!InstanceConfig.isLive("security.privileged"))
        #expect(InstanceConfig.isLive("environment.X"))
        #expect(!InstanceConfig.isLive("volatile.uuid"))
        #expect(InstanceConfig.keys.map(\.name) == InstanceConfig.keys.map(\.name).sorted())
        #expect(InstanceConfig.isKnown("user.x") && !InstanceConfig.isKnown("limits.disk"))
    }
}

@Suite struct ValueTests {
    @Test func cpuLimits() throws {
        #expect(try Values.cpu("4") == .count(4))
        #expect(try Values.cpu("0-1") == .set([0, 1]))
        #expect(try Values.cpu("3,0-1,1") == .set([0, 1, 3]))
        #expect(try Values.cpu("2-2") == .set([2]))
    }

    @Test func memoryLimits() throws {
        #expect(try Values.memory("512MiB") == .bytes(512 << 20))
        #expect(try Values.memory("2GiB") == .bytes(2 << 30))
        #expect(try Values.memory("1GB") == .bytes(1_000_000_000))
        #expect(try Values.memory("1.5GiB") == .bytes(UInt64(1.5 * Double(1 << 30))))
        #expect(try Values.memory("25%") == .percent(25))
        #expect(try Values.bytes("64kB") == 64_000)
        #expect(try Values.bytes("10") == 10)
        #expect(throws: ValueError.self) { try Values.bytes("99999999999EiB") }
    }

    @Test func expiry() throws {
        let parts = try Values.expiry("1w 3d")
        #expect(parts.map(\.0) == [1, 3])
        #expect(parts.map(\.1) == ["w", "d"])
    }

    @Test func macAndAddresses() throws {
        #expect(try Values.mac("00:16:3E:AA:bb:01") == "00:16:3e:aa:bb:01")
        #expect(throws: ValueError.self) { try Values.mac("01:16:3e:aa:bb:01") }  // multicast
        #expect(throws: ValueError.self) { try Values.mac("00:00:00:00:00:00") }
        #expect(throws: ValueError.self) { try Values.mac("00:16:3e:aa:bb") }
        #expect(try Values.ipv4("10.0.3.7") == [10, 0, 3, 7])
        #expect(throws: ValueError.self) { try Values.ipv4("10.0.3") }
        #expect(throws: ValueError.self) { try Values.ipv4("10.0.3.256") }
        #expect(throws: ValueError.self) { try Values.ipv4("10.0.03.1") }
        #expect(throws: ValueError.self) { try Values.hostIPv4("127.0.0.1") }
        #expect(throws: ValueError.self) { try Values.hostIPv4("224.0.0.1") }
    }

    @Test func pathsAndInterfaces() throws {
        #expect(try Values.absolutePath("//srv/./data/") == "/srv/data")
        #expect(try Values.absolutePath("/") == "/")
        #expect(throws: ValueError.self) { try Values.absolutePath("srv") }
        #expect(throws: ValueError.self) { try Values.absolutePath("/srv/../etc") }
        try Values.interfaceName("eth0")
        #expect(throws: ValueError.self) { try Values.interfaceName("a-very-long-ifname") }
        #expect(throws: ValueError.self) { try Values.interfaceName("eth/0") }
    }
}

@Suite struct CronTests {
    @Test func shorthandsAndFields() throws {
        let daily = try CronSchedule.parse("@daily")
        #expect(daily.entries.count == 1)
        #expect(daily.entries[0].minutes == [0] && daily.entries[0].hours == [0])
        let s = try CronSchedule.parse("*/20 9-17 * jan-mar mon-fri")
        #expect(s.entries[0].minutes == [0, 20, 40])
        #expect(s.entries[0].hours == Set(9...17))
        #expect(s.entries[0].months == [1, 2, 3])
        #expect(s.entries[0].daysOfWeek == [1, 2, 3, 4, 5])
        #expect(s.entries[0].anyDayOfMonth && !s.entries[0].anyDayOfWeek)
        let sunday = try CronSchedule.parse("0 0 * * 7")
        #expect(sunday.entries[0].daysOfWeek == [0])
        let multi = try CronSchedule.parse("@hourly, @startup")
        #expect(multi.entries.count == 1 && multi.atStartup)
        let stepped = try CronSchedule.parse("5/30 * * * *")
        #expect(stepped.entries[0].minutes == [5, 35])
    }

    @Test(arguments: [
        "", "* * * *", "* * * * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
        "*/0 * * * *", "5-1 * * * *", "@sometimes", "@daily,", "a * * * *"
    ])
    func rejects(_ text: String) {
        #expect(throws: ValueError.self) { try CronSchedule.parse(text) }
    }
}
