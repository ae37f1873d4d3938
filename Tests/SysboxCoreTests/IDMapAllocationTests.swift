import Foundation
import GRDB
import SysboxStore
import Testing

@testable import SysboxCore

/// A state directory with container rows only (no storage, no images), and subuid/subgid files of its own.
final class IDMapFixture {
    let dir = NSTemporaryDirectory() + "sysbox-idmap-test-\(UUID().uuidString)"
    let state: State
    let files: SubIDFiles

    init(subuid: String = "", subgid: String = "") throws {
        state = try State(stateDirectory: dir, dataDirectory: nil, busyTimeout: 10)
        files = SubIDFiles(subuid: dir + "/subuid", subgid: dir + "/subgid")
        try Data(subuid.utf8).write(to: URL(fileURLWithPath: files.subuid))
        try Data(subgid.utf8).write(to: URL(fileURLWithPath: files.subgid))
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    var maps: IDMaps { IDMaps(state: state, files: files) }

    /// Adds a container row (unprivileged unless `config` says otherwise), optionally with profiles.
    @discardableResult
    func add(_ name: String, _ config: [String: String] = [:], profiles: [String] = []) throws -> Int64 {
        try state.store.write { db in
            var record = ContainerRecord(name: name, image: "busybox")
            try record.insert(db)
            let id = try record.requireID()
            try ConfigTable.containers.replace(db, owner: id, with: ["security.privileged": "false"].merging(config) { _, new in new })
            try ContainerProfiles.replace(
                db, container: id, profiles: try profiles.map { p in try #require(try ProfileRecord.named(p, in: db)).requireID() })
            return id
        }
    }

    func addProfile(_ name: String, _ config: [String: String]) throws {
        try state.store.write { db in
            var p = ProfileRecord(name: name)
            try p.insert(db)
            try ConfigTable.profiles.replace(db, owner: try p.requireID(), with: config)
        }
    }

    func set(_ name: String, _ key: String, _ value: String?) throws {
        try state.store.write { db in
            try ConfigTable.containers.set(db, owner: try #require(try ContainerRecord.named(name, in: db)).requireID(), key: key, value: value)
        }
    }

    func delete(_ name: String) throws {
        _ = try state.store.write { db in try ContainerRecord.filter(Column("name") == name).deleteAll(db) }
    }

    func config(_ name: String) throws -> [String: String] {
        try state.store.read { db in try ConfigTable.containers.load(db, owner: try #require(try ContainerRecord.named(name, in: db)).requireID()) }
    }

    func setting(_ key: String) throws -> String? { try state.store.read { db in try Settings.get(db, key) } }

    func next(_ name: String) throws -> IDMap? { try maps.next(container: name) }

    /// The first host uid of `name`'s next map.
    func base(_ name: String) throws -> Int64? { try next(name)?.rootUID }

    /// Every row of every table.
    func dump() throws -> String {
        try state.store.read { db in
            var out = ""
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid") { out += "\(table) \(row)\n" }
            }
            return out
        }
    }
}

@Suite struct IDMapAllocationTests {
    @Test func isolatedContainersNeverOverlap() throws {
        let f = try IDMapFixture()
        for n in 1...5 { try f.add("c\(n)") }
        var maps: [String: IDMap] = [:]
        for n in 1...5 { maps["c\(n)"] = try f.next("c\(n)") }
        // After the shared map (1000000-1065535), one aligned block each, in order.
        #expect((1...5).map { maps["c\($0)"]?.rootUID } == [1_065_536, 1_131_072, 1_196_608, 1_262_144, 1_327_680])
        for n in 1...5 {
            let map = try #require(maps["c\(n)"])
            #expect(map.rootGID == map.rootUID)
            #expect(try map.kernelText(.uid) == "0 \(try #require(map.rootUID)) 65536\n")
            let config = try f.config("c\(n)")
            #expect(config["volatile.idmap.base"] == "\(try #require(map.rootUID))")
            #expect(config["volatile.idmap.next"] == map.json)
            #expect(config["volatile.idmap.current"] == nil)
        }
        let ranges = maps.values.compactMap { $0.rootUID.map { $0..<($0 + 65536) } }
        for (i, a) in ranges.enumerated() { for b in ranges[(i + 1)...] { #expect(!a.overlaps(b)) } }
        // A restart keeps the range (and writes the same keys).
        #expect(try f.base("c3") == 1_196_608)
        #expect(try f.base("c1") == 1_065_536)
    }

    @Test func theDefaultRangeIsRecordedOnce() throws {
        let f = try IDMapFixture()
        try f.add("c1")
        #expect(try f.setting("idmap.base") == nil)
        _ = try f.next("c1")
        #expect(try f.setting("idmap.base") == "1000000")
        #expect(try f.setting("idmap.size") == "1000000000")
        // The recorded values are what later allocations use (never written again).
        try f.state.store.write { db in try Settings.set(db, "idmap.base", "5000000") }
        try f.add("c2")
        #expect(try f.base("c2") == 5_065_536)
        #expect(try f.setting("idmap.base") == "5000000")
        #expect(try f.setting("idmap.size") == "1000000000")
        // c1's range is outside the new source now: it moves into it.
        #expect(try f.base("c1") == 5_131_072)
        try f.state.store.write { db in try Settings.set(db, "idmap.size", "many") }
        #expect(message { _ = try f.next("c1") }.contains("the setting idmap.size in"))
    }

    @Test func aDeletedContainersRangeIsReused() throws {
        let f = try IDMapFixture()
        for n in 1...3 { try f.add("c\(n)") }
        for n in 1...3 { _ = try f.next("c\(n)") }
        try f.delete("c2")
        try f.add("c4")
        #expect(try f.base("c4") == 1_131_072)
        try f.add("c5")
        #expect(try f.base("c5") == 1_262_144)
    }

    @Test func anExhaustedSourceIsAOneLineErrorAndChangesNothing() throws {
        let f = try IDMapFixture()
        try f.state.store.write { db in
            try Settings.set(db, "idmap.base", "1000000")
            try Settings.set(db, "idmap.size", "\(3 * 65536)")
        }
        for n in 1...3 { try f.add("c\(n)") }
        _ = try f.next("c1")
        _ = try f.next("c2")
        let before = try f.dump()
        #expect(
            message { _ = try f.next("c3") }
                == "container c3: no free range of 65536 ids is left in host ids 1000000-1196607 (sysbox's default range); add a larger root: range to \(f.files.subuid) and \(f.files.subgid), or use security.idmap.isolated=false"
        )
        #expect(try f.dump() == before)
        // The shared map still fits.
        try f.set("c3", "security.idmap.isolated", "false")
        #expect(try f.base("c3") == 1_000_000)
        // A size larger than the source does not fit anywhere.
        try f.set("c3", "security.idmap.size", "\(4 * 65536)")
        #expect(message { _ = try f.next("c3") }.contains("no free range of 262144 ids"))
    }

    @Test func rootsSubIDRangesAreTheSource() throws {
        let f = try IDMapFixture(subuid: "alice:100000:65536\nroot:1000:10\nroot:200000:655360\n", subgid: "root:200000:655360\n")
        try f.add("c1")
        try f.add("c2", ["security.idmap.isolated": "false"])
        #expect(try f.base("c1") == 265_536)
        #expect(try f.base("c2") == 200_000)
        #expect(try f.setting("idmap.base") == nil)  // the database's default range is not used
        // Different gid start: the same offset in both.
        let g = try IDMapFixture(subuid: "root:100000:655360\n", subgid: "0:300000:655360\n")
        try g.add("c1")
        let map = try #require(try g.next("c1"))
        #expect(map.rootUID == 165_536 && map.rootGID == 365_536)
        // A root range that is too small is an error, not a silent fallback.
        let h = try IDMapFixture(subuid: "root:100000:1000\n", subgid: "root:100000:65536\n")
        try h.add("c1")
        #expect(message { _ = try h.next("c1") }.hasPrefix("root's ranges in \(h.files.subuid) are smaller than 65536 ids"))
        // Only one file with root's range: the default range.
        let i = try IDMapFixture(subuid: "root:100000:655360\n")
        try i.add("c1")
        #expect(try i.base("c1") == 1_065_536)
    }

    @Test func sharedMapPrivilegedAndSizes() throws {
        let f = try IDMapFixture()
        try f.add("s1", ["security.idmap.isolated": "false"])
        try f.add("s2", ["security.idmap.isolated": "false", "security.idmap.size": "131072"])
        try f.add("p", ["security.privileged": "true"])
        try f.add("big", ["security.idmap.size": "70000"])
        try f.add("i1")
        #expect(try f.next("s1") == IDMap.block(uidBase: 1_000_000, gidBase: 1_000_000, size: 65536))
        #expect(try f.next("s2") == IDMap.block(uidBase: 1_000_000, gidBase: 1_000_000, size: 131072))
        #expect(try f.config("s2")["volatile.idmap.base"] == "1000000")
        // Isolated blocks come after the largest shared map, a size of 70000 takes two aligned blocks.
        #expect(try f.next("big") == IDMap.block(uidBase: 1_131_072, gidBase: 1_131_072, size: 70000))
        #expect(try f.base("i1") == 1_262_144)
        // Privileged: no map, its range freed, `[]` recorded as LXD does.
        #expect(try f.next("p") == nil)
        #expect(try f.config("p")["volatile.idmap.next"] == "[]")
        #expect(try f.config("p")["volatile.idmap.base"] == nil)
        try f.set("i1", "security.privileged", "true")
        #expect(try f.next("i1") == nil)
        #expect(try f.config("i1")["volatile.idmap.base"] == nil)
        try f.add("i2")
        #expect(try f.base("i2") == 1_262_144)
        // A shared map that would grow into an isolated range is refused.
        try f.set("s1", "security.idmap.size", "\(3 * 65536)")
        #expect(
            message { _ = try f.next("s1") }
                == "container s1: the shared map of security.idmap.size 196608 reaches into container big's range 1131072-1262143; lower security.idmap.size or set security.idmap.isolated=true"
        )
        // Switching to isolated gives an own range (its shared one is not kept).
        try f.set("s2", "security.idmap.isolated", "true")
        try f.set("s2", "security.idmap.size", nil)
        #expect(try f.base("s2") == 1_327_680)
    }

    @Test func theConfigComesFromProfilesToo() throws {
        let f = try IDMapFixture()
        try f.addProfile("shared", ["security.idmap.isolated": "false"])
        try f.add("c1", profiles: ["shared"])
        #expect(try f.base("c1") == 1_000_000)
        try f.addProfile("priv", ["security.privileged": "true"])
        try f.add("c2", ["security.privileged": "false"], profiles: ["priv"])  // the container's own wins
        #expect(try f.next("c2") != nil)
    }

    @Test func aManualBase() throws {
        let f = try IDMapFixture()
        try f.add("m", ["security.idmap.base": "3000000"])
        try f.add("c1")
        #expect(try f.next("m") == IDMap.block(uidBase: 3_000_000, gidBase: 3_000_000, size: 65536))
        #expect(try f.base("c1") == 1_065_536)
        try f.add("clash", ["security.idmap.base": "3010000"])
        #expect(
            message { _ = try f.next("clash") }
                == "container clash: security.idmap.base 3010000 overlaps container m's range 3000000-3065535; pick another base or unset security.idmap.base")
        try f.set("clash", "security.idmap.base", "1000001")
        #expect(message { _ = try f.next("clash") }.contains("overlaps the shared range (security.idmap.isolated=false) 1000000-1065535"))
        try f.set("clash", "security.idmap.isolated", "false")
        #expect(message { _ = try f.next("clash") }.contains("security.idmap.base needs an own range"))
        try f.set("clash", "security.idmap.isolated", nil)
        try f.set("clash", "security.idmap.base", "4294967000")
        #expect(message { _ = try f.next("clash") }.contains("passes the highest id 4294967294"))
        // Allocation skips a manual block inside the source.
        try f.set("clash", "security.idmap.base", "1131072")
        _ = try f.next("clash")
        try f.add("c2")
        #expect(try f.base("c2") == 1_196_608)
    }

    @Test func rawIDMapIsMergedAndChecked() throws {
        let f = try IDMapFixture()
        try f.add("c1", ["raw.idmap": "both 1000 1000\nuid 50-51 500-501"])
        let map = try #require(try f.next("c1"))
        #expect(try map.kernelText(.uid) == "0 1065536 500\n500 50 2\n502 1066038 498\n1000 1000 1\n1001 1066537 64535\n")
        #expect(try map.kernelText(.gid) == "0 1065536 1000\n1000 1000 1\n1001 1066537 64535\n")
        #expect(try f.config("c1")["volatile.idmap.next"] == map.json)
        #expect(try f.config("c1")["volatile.idmap.base"] == "1065536")
        // Another container may map the same host user.
        try f.add("c2", ["raw.idmap": "both 1000 1000"])
        #expect(try f.next("c2")?.hostID(1000, .uid) == 1000)
        // Host ids inside sysbox's ranges or another container's are refused.
        try f.add("bad", ["raw.idmap": "uid 2000000 5"])
        #expect(
            message { _ = try f.next("bad") }
                == "container bad: raw.idmap maps host uids 2000000, inside the ids sysbox gives containers, host ids 1000000-1000999999 (sysbox's default range); map host ids outside it"
        )
        try f.set("bad", "raw.idmap", "uid 1070000 5")
        #expect(
            message { _ = try f.next("bad") }
                == "container bad: raw.idmap maps host uids 1070000, inside container c1's range 1065536-1131071; map host ids outside it")
        try f.add("m", ["security.idmap.base": "3000000"])
        _ = try f.next("m")
        try f.set("bad", "raw.idmap", "gid 3000005-3000006 5-6")
        #expect(message { _ = try f.next("bad") }.contains("raw.idmap maps host gids 3000005-3000006, inside container m's range 3000000-3065535"))
        try f.set("bad", "raw.idmap", "gid 2000 65536")
        #expect(
            message { _ = try f.next("bad") }
                == "container bad: invalid raw.idmap: container ids 65536 are outside the container's ids 0-65535; map container ids below 65536 or raise security.idmap.size"
        )
        try f.set("bad", "security.idmap.size", "131072")
        #expect(try f.next("bad")?.hostID(65536, .gid) == 2000)
        // A value written behind sysbox's back is still checked.
        try f.set("bad", "raw.idmap", "both 1000")
        #expect(message { _ = try f.next("bad") }.hasPrefix("container bad: invalid value \"both 1000\" for raw.idmap: line 1: expected three fields"))
        // More than 340 lines for the kernel.
        let many = (0..<340).map { "uid \(2000 + $0 * 2) \(10 + $0 * 2)" }.joined(separator: "\n")
        try f.set("bad", "raw.idmap", many)
        #expect(message { _ = try f.next("bad") }.contains("more than the kernel's 340"))
    }

    @Test func recordCurrentAndReadBack() throws {
        let f = try IDMapFixture()
        try f.add("c1")
        try f.add("p", ["security.privileged": "true"])
        let map = try #require(try f.next("c1"))
        try f.maps.recordCurrent(container: "c1", map)
        #expect(try f.config("c1")["volatile.idmap.current"] == map.json)
        #expect(try f.state.store.read { db in try f.maps.recorded(db, container: "c1") } == map)
        #expect(try f.state.store.read { db in try f.maps.recorded(db, container: "c1", key: IDMaps.nextKey) } == map)
        try f.maps.recordCurrent(container: "p", nil)
        #expect(try f.config("p")["volatile.idmap.current"] == "[]")
        #expect(try f.state.store.read { db in try f.maps.recorded(db, container: "p") } == nil)
        try f.set("c1", "volatile.idmap.current", "garbage")
        #expect(message { _ = try f.state.store.read { db in try f.maps.recorded(db, container: "c1") } }.contains("volatile.idmap.current is unreadable"))
        #expect(message { _ = try f.next("nope") }.contains("container nope not found"))
    }

    /// A start whose map is unchanged needs only a read (a write transaction costs an fsync): the WAL
    /// does not grow; a changed config writes again.
    @Test func anUnchangedMapIsNotWrittenAgain() throws {
        let f = try IDMapFixture()
        try f.add("c1")
        try f.add("p", ["security.privileged": "true"])
        let wal = f.state.store.path + "-wal"
        func walSize() throws -> Int { try #require(try FileManager.default.attributesOfItem(atPath: wal)[.size] as? Int) }
        let first = try #require(try f.next("c1"))
        #expect(try f.next("p") == nil)
        let written = try walSize()
        #expect(try f.next("c1") == first)
        #expect(try f.next("p") == nil)
        #expect(try walSize() == written)
        #expect(try f.config("p")["volatile.idmap.next"] == "[]")
        try f.set("c1", "security.idmap.size", "131072")
        let grown = try walSize()
        #expect(try f.next("c1")?.entries.first?.range == 131072)
        #expect(try walSize() > grown)
    }

    /// A container running with a larger map than its config now says keeps the larger range.
    @Test func aRunningMapKeepsItsRange() throws {
        let f = try IDMapFixture()
        try f.add("c1", ["security.idmap.size": "131072"])
        let map = try #require(try f.next("c1"))
        try f.maps.recordCurrent(container: "c1", map)
        try f.set("c1", "security.idmap.size", nil)
        try f.set("c1", "volatile.idmap.next", IDMap.block(uidBase: 1_065_536, gidBase: 1_065_536, size: 65536).json)
        try f.add("c2")
        #expect(try f.base("c2") == 1_196_608)
    }
}

/// A copy starts without its source's volatile.idmap.* keys, so it gets a range of its own.
@Suite struct IDMapCopyTests {
    @Test func aCopyGetsANewRange() throws {
        let f = try ManagerFixture()
        let files = SubIDFiles(subuid: f.dir + "/no-subuid", subgid: f.dir + "/no-subgid")
        let maps = IDMaps(state: f.manager.state, files: files)
        try f.manager.createContainer(CreateRequest(name: "c1", image: "busybox", config: ["security.privileged": "false"]))
        let first = try #require(try maps.next(container: "c1"))
        try maps.recordCurrent(container: "c1", first)
        try f.manager.copyContainer(CopyRequest(source: "c1", target: "c2"))
        let copied = try f.manager.containerView("c2").local.config
        #expect(copied["security.privileged"] == "false")
        #expect(copied.keys.filter { $0.hasPrefix("volatile.idmap.") }.isEmpty, "\(copied)")
        let second = try #require(try maps.next(container: "c2"))
        #expect(first.rootUID == 1_065_536 && second.rootUID == 1_131_072)
    }
}

@Suite struct IDMapConfigKeyTests {
    @Test func keysDefaultsAndMessages() throws {
        #expect(InstanceConfig.defaultValue("security.idmap.isolated") == "true")
        #expect(InstanceConfig.defaultValue("security.idmap.size") == "65536")
        #expect(InstanceConfig.defaultValue("security.idmap.base") == nil)
        #expect(InstanceConfig.defaultValue("raw.idmap") == nil)
        #expect(InstanceConfig.defaultValue("security.privileged") == "false")  // unprivileged by default, as in LXD
        for key in ["security.idmap.isolated", "security.idmap.size", "security.idmap.base", "raw.idmap"] {
            #expect(InstanceConfig.isKnown(key) && !InstanceConfig.isLive(key), "\(key)")
        }
        try InstanceConfig.validate("security.idmap.size", "65536")
        try InstanceConfig.validate("security.idmap.size", "1000000")
        try InstanceConfig.validate("security.idmap.base", "1000000")
        try InstanceConfig.validate("security.idmap.isolated", "no")
        try InstanceConfig.validate("raw.idmap", "both 1000 1000\nuid 50-60 500-510")
        #expect(
            message { try InstanceConfig.validate("security.idmap.size", "1000") }
                == "invalid value \"1000\" for security.idmap.size: a map needs at least 65536 ids (nobody is 65534 and systemd refuses less); use 65536 or more")
        #expect(message { try InstanceConfig.validate("security.idmap.size", "lots") }.contains("expected an integer from 1 to 4294967295"))
        #expect(message { try InstanceConfig.validate("security.idmap.base", "0") }.contains("out of range"))
        #expect(message { try InstanceConfig.validate("security.idmap.isolated", "maybe") }.contains("expected true or false"))
        #expect(
            message { try InstanceConfig.validate("raw.idmap", "both 1000 1000\nuid 50-60 500-505") }
                == "invalid value \"both 1000 1000\\x0auid 50-60 500-505\" for raw.idmap: line 2: the host range 50-60 has 11 ids but the container range 500-505 has 6; give both sides the same length"
        )
        #expect(message { try InstanceConfig.validate("raw.idmap", "both 1000 1000\nboth 1000 2000") }.contains("host uids 1000 and 1000 overlap"))
        #expect(InstanceConfig.suggestion(for: "security.idmap.isolate") == "; did you mean security.idmap.isolated?")
        #expect(InstanceConfig.filterMatches("security.idmap.isolated", wanted: "false", actual: "0"))
        #expect(InstanceConfig.filterMatches("security.idmap.isolated", wanted: "true", actual: nil))
    }
}
