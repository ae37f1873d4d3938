import Foundation
import Testing

@testable import SysboxCore

/// The pure id map: kernel text, translation, LXD's JSON, raw.idmap, subuid files, the allocator.
@Suite struct IDMapTests {
    static let lxdGolden =
        #"[{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":65536},{"Isuid":false,"Isgid":true,"Hostid":1000000,"Nsid":0,"Maprange":65536}]"#

    @Test func blockRendersTheKernelText() throws {
        let map = IDMap.block(uidBase: 1_000_000, gidBase: 2_000_000, size: 65536)
        #expect(try map.kernelText(.uid) == "0 1000000 65536\n")
        #expect(try map.kernelText(.gid) == "0 2000000 65536\n")
        #expect(map.rootUID == 1_000_000 && map.rootGID == 2_000_000)
    }

    @Test func translationBothWays() {
        let map = IDMap(entries: [
            IDMapEntry(isUID: true, isGID: false, hostID: 1_000_000, nsID: 0, range: 1000),
            IDMapEntry(isUID: true, isGID: true, hostID: 1000, nsID: 1000, range: 1),
            IDMapEntry(isUID: true, isGID: false, hostID: 1_001_001, nsID: 1001, range: 64535),
            IDMapEntry(isUID: false, isGID: true, hostID: 1_000_000, nsID: 0, range: 65536)
        ])
        #expect(map.hostID(0, .uid) == 1_000_000)
        #expect(map.hostID(999, .uid) == 1_000_999)
        #expect(map.hostID(1000, .uid) == 1000)
        #expect(map.hostID(1000, .gid) == 1000)
        #expect(map.hostID(1001, .uid) == 1_001_001)
        #expect(map.hostID(65535, .uid) == 1_065_535)
        #expect(map.hostID(65536, .uid) == nil)
        #expect(map.hostID(-1, .uid) == nil)
        #expect(map.containerID(1_000_000, .uid) == 0)
        #expect(map.containerID(1000, .uid) == 1000)
        #expect(map.containerID(1_001_000, .uid) == nil)  // the hole raw.idmap punched
        #expect(map.containerID(1_001_000, .gid) == 1000)
        #expect(map.containerID(999_999, .gid) == nil)
        #expect(map.containerID(0, .uid) == nil)
        #expect(map.rootUID == 1_000_000)
        #expect(IDMap(entries: []).rootUID == nil)
    }

    @Test func lxdJSONRoundTrip() throws {
        let map = IDMap.block(uidBase: 1_000_000, gidBase: 1_000_000, size: 65536)
        #expect(map.json == Self.lxdGolden)
        #expect(try IDMap(json: Self.lxdGolden) == map)
        // Field order and spacing do not matter when reading.
        let spaced = #"[ { "Nsid": 0, "Maprange": 5, "Hostid": 7, "Isgid": true, "Isuid": true } ]"#
        #expect(try IDMap(json: spaced).entries == [IDMapEntry(isUID: true, isGID: true, hostID: 7, nsID: 0, range: 5)])
        #expect(try IDMap(json: "[]").entries.isEmpty)
        #expect(try IDMap(json: "").entries.isEmpty)
        #expect(IDMap(entries: []).json == "[]")
        #expect(valueMessage { () throws(ValueError) in _ = try IDMap(json: "{nope") }.contains("expected LXD's id map JSON"))
    }

    @Test func kernelRulesAreChecked() {
        let overlapping = IDMap(entries: [
            IDMapEntry(isUID: true, isGID: true, hostID: 1_000_000, nsID: 0, range: 100),
            IDMapEntry(isUID: true, isGID: true, hostID: 1_000_050, nsID: 200, range: 100)
        ])
        #expect(message { try overlapping.validate() }.contains("maps host ids 1000000-1000099 and 1000050-1000149 twice"))
        let nsOverlap = IDMap(entries: [
            IDMapEntry(isUID: true, isGID: true, hostID: 1, nsID: 0, range: 10), IDMapEntry(isUID: true, isGID: true, hostID: 100, nsID: 5, range: 1)
        ])
        #expect(message { try nsOverlap.validate() }.contains("maps container ids 0-9 and 5 twice"))
        let uidOnly = IDMap(entries: [IDMapEntry(isUID: true, isGID: false, hostID: 1, nsID: 0, range: 10)])
        #expect(message { _ = try uidOnly.kernelText(.uid) }.contains("no gid entry"))
        let tooHigh = IDMap(entries: [IDMapEntry(isUID: true, isGID: true, hostID: 4_294_967_290, nsID: 0, range: 10)])
        #expect(message { try tooHigh.validate() }.contains("outside the ids 0-4294967294"))
        let many = IDMap(entries: (0..<341).map { IDMapEntry(isUID: true, isGID: true, hostID: 2000 + $0 * 2, nsID: $0 * 2, range: 1) })
        #expect(message { _ = try many.kernelText(.gid) }.contains("341 lines, more than the kernel's 340"))
        let most = IDMap(entries: Array(many.entries.prefix(340)))
        #expect((try? most.kernelText(.uid))?.split(separator: "\n").count == 340)
    }

    // MARK: - raw.idmap

    @Test func rawIDMapParses() throws {
        let text = """
            # host user 1000 as container user 1000
            both 1000 1000

              uid 50-60 500-510\t
            gid\t2000-2001 3000-3001
            """
        #expect(
            try RawIDMap.parse(text) == [
                IDMapEntry(isUID: true, isGID: true, hostID: 1000, nsID: 1000, range: 1),
                IDMapEntry(isUID: true, isGID: false, hostID: 50, nsID: 500, range: 11),
                IDMapEntry(isUID: false, isGID: true, hostID: 2000, nsID: 3000, range: 2)
            ])
        #expect(try RawIDMap.parse("").isEmpty)
        #expect(try RawIDMap.parse("# nothing\n\n").isEmpty)
        // A uid and a gid entry may use the same ids.
        #expect(try RawIDMap.parse("uid 1000 0\ngid 1000 0").count == 2)
    }

    @Test(arguments: [
        ("both 1000", "line 1: expected three fields"),
        ("both 1000 1000 1000", "line 1: expected three fields"),
        ("\nuser 1000 1000", "line 2: the first field must be both, uid or gid, not user"),
        ("uid x 1000", "the host id x is not an id or a range like 50-60"),
        ("uid 1000 -5", "the container id -5 is not an id"),
        ("uid 1-2-3 1", "the host id 1-2-3 is not an id"),
        ("uid 60-50 500-510", "the host range 60-50 runs backwards"),
        ("uid 50-60 500-505", "the host range 50-60 has 11 ids but the container range 500-505 has 6; give both sides the same length"),
        ("uid 4294967295 0", "the host id 4294967295 is above the highest id 4294967294"),
        ("both 1000 1000\nuid 2000-2010 995-1005", "container uids 1000 and 995-1005 overlap; map each container id once"),
        ("gid 1000 1\nboth 999-1000 7-8", "host gids 1000 and 999-1000 overlap; map each host id once")
    ])
    func rawIDMapRefusals(_ text: String, _ expected: String) {
        let got = valueMessage { () throws(ValueError) in _ = try RawIDMap.parse(text) }
        #expect(got.contains(expected), "\(got)")
    }

    /// Golden maps: raw entries punch holes in the base range and are added.
    @Test func rawIDMapPunchesHoles() throws {
        let base = IDMap.block(uidBase: 1_000_000, gidBase: 1_000_000, size: 65536)
        let both = try RawIDMap.merge(try RawIDMap.parse("both 1000 1000"), into: base, size: 65536)
        #expect(try both.kernelText(.uid) == "0 1000000 1000\n1000 1000 1\n1001 1001001 64535\n")
        #expect(try both.kernelText(.gid) == "0 1000000 1000\n1000 1000 1\n1001 1001001 64535\n")
        #expect(
            both.json
                == #"[{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":1000},{"Isuid":true,"Isgid":true,"Hostid":1000,"Nsid":1000,"Maprange":1},{"Isuid":true,"Isgid":false,"Hostid":1001001,"Nsid":1001,"Maprange":64535},{"Isuid":false,"Isgid":true,"Hostid":1000000,"Nsid":0,"Maprange":1000},{"Isuid":false,"Isgid":true,"Hostid":1001001,"Nsid":1001,"Maprange":64535}]"#
        )
        let several = try RawIDMap.merge(try RawIDMap.parse("uid 50-60 500-510\ngid 7 0\nboth 3000 65535"), into: base, size: 65536)
        #expect(try several.kernelText(.uid) == "0 1000000 500\n500 50 11\n511 1000511 65024\n65535 3000 1\n")
        #expect(try several.kernelText(.gid) == "0 7 1\n1 1000001 65534\n65535 3000 1\n")
        #expect(several.rootUID == 1_000_000 && several.rootGID == 7)
        #expect(several.containerID(1_000_500, .uid) == nil)
        #expect(try RawIDMap.merge([], into: base, size: 65536) == IDMap(entries: base.entries))
    }

    @Test func rawIDMapRefusedAgainstTheBase() throws {
        let base = IDMap.block(uidBase: 1_000_000, gidBase: 1_000_000, size: 65536)
        #expect(
            valueMessage { () throws(ValueError) in _ = try RawIDMap.merge(try RawIDMap.parse("uid 1000-1010 65530-65540"), into: base, size: 65536) }
                == "container ids 65530-65540 are outside the container's ids 0-65535; map container ids below 65536 or raise security.idmap.size")
        #expect(
            valueMessage { () throws(ValueError) in _ = try RawIDMap.merge(try RawIDMap.parse("gid 1000010 20"), into: base, size: 65536) }
                == "host gids 1000010 are already mapped by the container's own range (host 1000000-1000019); map host ids outside it")
        // A host id whose own container id is punched out is free again.
        #expect(try RawIDMap.merge(try RawIDMap.parse("both 1000005 5"), into: base, size: 65536).hostID(5, .uid) == 1_000_005)
    }

    // MARK: - subuid / subgid

    @Test func subIDFilesGiveRootsRanges() throws {
        let text = """
            alice:100000:65536
            root:165536:65536
            bad line
            root:x:5
            0:300000:1000000
            root:10:0
            root:4294967000:1000
            """
        #expect(SubIDs.rootRanges(text) == [SubIDRange(start: 165536, count: 65536), SubIDRange(start: 300000, count: 1_000_000)])
        #expect(SubIDs.rootRanges("").isEmpty)
        #expect(SubIDs.rootRanges(path: "/nonexistent/subuid").isEmpty)
        let files = SubIDFiles(subuid: "/s/subuid", subgid: "/s/subgid")
        let uid = [SubIDRange(start: 100, count: 10), SubIDRange(start: 200000, count: 131072)]
        let gid = [SubIDRange(start: 300000, count: 65536)]
        #expect(
            try IDMapSource.fromSubIDs(uid: uid, gid: gid, files: files)
                == IDMapSource(uidStart: 200000, gidStart: 300000, size: 65536, origin: .subIDFiles))
        #expect(try IDMapSource.fromSubIDs(uid: uid, gid: [], files: files) == nil)
        #expect(try IDMapSource.fromSubIDs(uid: [], gid: gid, files: files) == nil)
        #expect(
            message { _ = try IDMapSource.fromSubIDs(uid: [SubIDRange(start: 100000, count: 1000)], gid: gid, files: files) }
                == "root's ranges in /s/subuid are smaller than 65536 ids; give root a larger range in /s/subuid and /s/subgid (e.g. root:1000000:1000000000), or remove root's lines to use sysbox's default range"
        )
    }

    // MARK: - Allocator

    @Test func allocatorTakesTheFirstAlignedFreeBlock() {
        let source = IDMapSource(uidStart: 1_000_000, gidStart: 1_000_000, size: 10 * 65536, origin: .database)
        let shared = IDMapAllocator.sharedExtent(sizes: [])
        #expect(shared == 65536)
        #expect(IDMapAllocator.sharedExtent(sizes: [70000]) == 131072)
        #expect(IDMapAllocator.firstFree(size: 65536, source: source, sharedExtent: shared, taken: []) == 1_065_536)
        let a = IDBlock(owner: "a", uid: 1_065_536..<1_131_072, gid: 1_065_536..<1_131_072)
        #expect(IDMapAllocator.firstFree(size: 65536, source: source, sharedExtent: shared, taken: [a]) == 1_131_072)
        // A block of an odd size (a manual base) pushes the next one to the next aligned offset.
        let odd = IDBlock(owner: "b", uid: 1_131_072..<1_131_100, gid: 1_131_072..<1_131_100)
        #expect(IDMapAllocator.firstFree(size: 65536, source: source, sharedExtent: shared, taken: [a, odd]) == 1_196_608)
        // A hole between blocks is reused.
        let c = IDBlock(owner: "c", uid: 1_196_608..<1_262_144, gid: 1_196_608..<1_262_144)
        #expect(IDMapAllocator.firstFree(size: 65536, source: source, sharedExtent: shared, taken: [c, a]) == 1_131_072)
        // Too big for what is left.
        #expect(IDMapAllocator.firstFree(size: 9 * 65536 + 1, source: source, sharedExtent: shared, taken: []) == nil)
        #expect(IDMapAllocator.firstFree(size: 9 * 65536, source: source, sharedExtent: shared, taken: []) == 1_065_536)
        // Different uid and gid starts: a block taken on the gid side only still counts.
        let split = IDMapSource(uidStart: 100000, gidStart: 500000, size: 4 * 65536, origin: .subIDFiles)
        let gidOnly = IDBlock(owner: "d", uid: 0..<1, gid: 565536..<631072)
        #expect(IDMapAllocator.firstFree(size: 65536, source: split, sharedExtent: 65536, taken: [gidOnly]) == 231072)
        #expect(split.gidBase(forUID: 231072) == 631072)
    }
}
