import Foundation
import GRDB
import Testing
@testable import SysboxStore

/// A temporary store for one test.
func withStore(_ body: (Store) throws -> Void) throws {
    let dir = TempDir()
    defer { dir.cleanup() }
    try body(try Store(directory: dir.path))
}

/// Inserts a record and returns it with its id.
@discardableResult
func inserted<R: StoreRecord>(_ record: R, _ db: Database) throws -> R {
    var record = record
    try record.insert(db)
    return record
}

@Suite struct RecordTests {
    @Test func initialisersKeepTheirDefaults() {
        let date = Date(timeIntervalSince1970: 1000)
        let c = ContainerRecord(name: "c", image: "i")
        #expect(c.id == nil && c.description == "" && !c.ephemeral && c.lastUsedAt == nil && c.state == .stopped)
        let running = ContainerRecord(name: "c", image: "i", createdAt: date, state: .running)
        #expect(running.state.rawValue == "running" && running.createdAt == date && running.id == nil)
        let p = ProfileRecord(name: "p")
        #expect(p.id == nil && p.description == "")
        let s = SnapshotRecord(containerId: 3, name: "s", createdAt: date)
        #expect(s.id == nil && s.containerId == 3 && s.description == "" && s.createdAt == date && s.expiresAt == nil)
        let i = ImageRecord(fingerprint: "f", template: "t", size: 9, createdAt: date)
        #expect(i.id == nil && i.size == 9 && i.lastUsedAt == nil)
        let a = ImageAliasRecord(name: "a", imageId: 4)
        #expect(a.id == nil && a.imageId == 4 && a.description == "")
        let n = NetworkRecord(name: "n")
        #expect(n.id == nil && n.type == "bridge" && n.description == "")
        let l = IPv4LeaseRecord(networkId: 1, address: "10.0.0.2", containerId: 2, deviceName: "eth0")
        #expect(l.id == nil && l.hwaddr == "" && !l.isStatic)
    }

    @Test func requireIDThrowsAnInternalErrorBeforeInsert() throws {
        try withStore { store in
            try store.write { db in
                let records: [any StoreRecord] = [
                    ContainerRecord(name: "c1", image: "i"), ProfileRecord(name: "p1"), ImageRecord(fingerprint: "ab", template: "t", size: 0),
                    NetworkRecord(name: "n1")
                ]
                for record in records {
                    #expect(throws: StoreError.self) { try record.requireID() }
                }
                #expect(throws: StoreError.internalError("record containers c1 has no id (it was never inserted)")) {
                    try ContainerRecord(name: "c1", image: "i").requireID()
                }
                #expect(StoreError.internalError("x").description == "internal error: x")
                // Inserting sets the id (StoreRecord.didInsert) for every record type.
                let c = try inserted(ContainerRecord(name: "c1", image: "i"), db)
                let p = try inserted(ProfileRecord(name: "p1"), db)
                let s = try inserted(SnapshotRecord(containerId: try c.requireID(), name: "s"), db)
                let i = try inserted(ImageRecord(fingerprint: "ab", template: "t", size: 0), db)
                let a = try inserted(ImageAliasRecord(name: "a", imageId: try i.requireID()), db)
                let n = try inserted(NetworkRecord(name: "n1"), db)
                let l = try inserted(IPv4LeaseRecord(networkId: try n.requireID(), address: "10.0.0.2", containerId: try c.requireID(), deviceName: "eth0"), db)
                let o = try Journal.begin(db, DeletePayload(start: 1), entityName: "c1")
                for (record, table) in [
                    (c, "containers"), (p, "profiles"), (s, "snapshots"), (i, "images"), (a, "images_aliases"),
                    (n, "networks"), (l, "ipv4_leases"), (o, "operations")
                ] as [(any StoreRecord, String)] {
                    let id = try record.requireID()
                    #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table) WHERE id = ?", arguments: [id]) == 1)
                }
            }
        }
    }

    @Test func namesOfNamedRecords() throws {
        try withStore { store in
            try store.write { db in
                for name in ["b", "c", "a"] {
                    try inserted(ContainerRecord(name: name, image: "i"), db)
                    try inserted(ProfileRecord(name: "p" + name), db)
                    try inserted(NetworkRecord(name: "n" + name), db)
                }
                #expect(try ContainerRecord.allNames(in: db) == ["a", "b", "c"])
                #expect(try ProfileRecord.allNames(in: db) == ["pa", "pb", "pc"])
                #expect(try NetworkRecord.allNames(in: db) == ["na", "nb", "nc"])
                #expect(try NetworkRecord.named("nb", in: db)?.name == "nb")
                #expect(try NetworkRecord.named("zz", in: db) == nil)
            }
        }
    }
}

@Suite struct ContainerQueryTests {
    @Test func powerStateAndLastUse() throws {
        try withStore { store in
            try store.write { db in
                try inserted(ContainerRecord(name: "c", image: "i"), db)
                let at = Date(timeIntervalSince1970: 1_700_000_000)
                try ContainerRecord.setPowerState(.stopped, name: "c", now: at, in: db)
                #expect(try ContainerRecord.named("c", in: db)?.lastUsedAt == nil)
                try ContainerRecord.setPowerState(.running, name: "c", now: at, in: db)
                var c = try #require(try ContainerRecord.named("c", in: db))
                #expect(c.state == .running)
                #expect(try String.fetchOne(db, sql: "SELECT power_state FROM containers WHERE name = 'c'") == "running")
                #expect(c.lastUsedAt == at)
                try ContainerRecord.setPowerState(.stopped, name: "c", now: at.addingTimeInterval(60), in: db)
                c = try #require(try ContainerRecord.named("c", in: db))
                #expect(c.state == .stopped)
                #expect(c.lastUsedAt == at)
                try ContainerRecord.setPowerState(.running, name: "missing", in: db)
                #expect(db.changesCount == 0)
            }
        }
    }

    @Test func renameKeepsWhatFollowsTheId() throws {
        try withStore { store in
            try store.write { db in
                let c = try inserted(ContainerRecord(name: "old", image: "i"), db)
                try ConfigTable.containers.set(db, owner: try c.requireID(), key: "user.k", value: "v")
                try inserted(SnapshotRecord(containerId: try c.requireID(), name: "s"), db)
                try ContainerRecord.rename(from: "old", to: "new", in: db)
                #expect(try ContainerRecord.named("old", in: db) == nil)
                let renamed = try #require(try ContainerRecord.named("new", in: db))
                #expect(renamed.id == c.id)
                #expect(try ConfigTable.containers.load(db, owner: try renamed.requireID()) == ["user.k": "v"])
                #expect(try SnapshotRecord.names(container: try renamed.requireID(), in: db) == ["s"])
                try inserted(ContainerRecord(name: "other", image: "i"), db)
                #expect(throws: DatabaseError.self) { try ContainerRecord.rename(from: "other", to: "new", in: db) }
            }
        }
    }

    @Test func containersUsingAnImage() throws {
        try withStore { store in
            try store.write { db in
                for (name, image) in [("z", "f1"), ("a", "f1"), ("m", "f2"), ("n", "")] {
                    let c = try inserted(ContainerRecord(name: name, image: "debian"), db)
                    if !image.isEmpty { try ConfigTable.containers.set(db, owner: try c.requireID(), key: "volatile.base_image", value: image) }
                    try ConfigTable.containers.set(db, owner: try c.requireID(), key: "user.note", value: "f1")
                }
                #expect(try ContainerRecord.names(usingImage: "f1", in: db) == ["a", "z"])
                #expect(try ContainerRecord.names(usingImage: "f2", in: db) == ["m"])
                #expect(try ContainerRecord.names(usingImage: "f3", in: db).isEmpty)
            }
        }
    }
}

@Suite struct SnapshotQueryTests {
    @Test func namesCountsAndLatest() throws {
        try withStore { store in
            try store.write { db in
                let c1 = try inserted(ContainerRecord(name: "c1", image: "i"), db).requireID()
                let c2 = try inserted(ContainerRecord(name: "c2", image: "i"), db).requireID()
                try inserted(ContainerRecord(name: "c3", image: "i"), db)
                let t0 = Date(timeIntervalSince1970: 1_700_000_000)
                try inserted(SnapshotRecord(containerId: c1, name: "snap1", description: "sched", createdAt: t0), db)
                try inserted(SnapshotRecord(containerId: c1, name: "snap0", description: "sched", createdAt: t0.addingTimeInterval(120)), db)
                try inserted(SnapshotRecord(containerId: c1, name: "manual", createdAt: t0.addingTimeInterval(600)), db)
                try inserted(SnapshotRecord(containerId: c2, name: "x", createdAt: t0), db)
                #expect(try SnapshotRecord.names(container: c1, in: db) == ["manual", "snap0", "snap1"])
                #expect(try SnapshotRecord.named("snap0", container: c1, in: db)?.createdAt == t0.addingTimeInterval(120))
                #expect(try SnapshotRecord.named("snap0", container: c2, in: db) == nil)
                #expect(try SnapshotRecord.count(container: c1, in: db) == 3)
                #expect(try SnapshotRecord.count(container: c2, in: db) == 1)
                #expect(try SnapshotRecord.countsByContainer(in: db) == [c1: 3, c2: 1])
                #expect(try SnapshotRecord.latestCreation(container: c1, description: "sched", in: db) == t0.addingTimeInterval(120))
                #expect(try SnapshotRecord.latestCreation(container: c2, description: "sched", in: db) == nil)
            }
        }
    }

    @Test func profileLists() throws {
        try withStore { store in
            try store.write { db in
                let c1 = try inserted(ContainerRecord(name: "c1", image: "i"), db).requireID()
                let c0 = try inserted(ContainerRecord(name: "c0", image: "i"), db).requireID()
                let s1 = try inserted(SnapshotRecord(containerId: c1, name: "b"), db).requireID()
                let s2 = try inserted(SnapshotRecord(containerId: c1, name: "a"), db).requireID()
                let s3 = try inserted(SnapshotRecord(containerId: c0, name: "z"), db).requireID()
                try SnapshotProfiles.replace(db, snapshot: s1, profiles: ["web", "default", "net"])
                #expect(try SnapshotProfiles.names(db, snapshot: s1) == ["web", "default", "net"])
                try SnapshotProfiles.replace(db, snapshot: s1, profiles: ["net", "web"])
                #expect(try SnapshotProfiles.names(db, snapshot: s1) == ["net", "web"])
                try SnapshotProfiles.copy(db, from: s1, to: s2)
                #expect(try SnapshotProfiles.names(db, snapshot: s2) == ["net", "web"])
                try SnapshotProfiles.replace(db, snapshot: s3, profiles: ["web"])
                #expect(
                    try SnapshotProfiles.users(db, profile: "web") == [
                        SnapshotUse(container: "c0", snapshot: "z"),
                        SnapshotUse(container: "c1", snapshot: "a"),
                        SnapshotUse(container: "c1", snapshot: "b")
                    ])
                #expect(try SnapshotProfiles.users(db, profile: "default").isEmpty)
                try SnapshotProfiles.renameProfile(db, from: "web", to: "www")
                #expect(try SnapshotProfiles.names(db, snapshot: s1) == ["net", "www"])
                #expect(try SnapshotProfiles.names(db, snapshot: s3) == ["www"])
                #expect(try SnapshotProfiles.users(db, profile: "web").isEmpty)
            }
        }
    }
}

@Suite struct ImageQueryTests {
    @Test func aliasesAndLookups() throws {
        try withStore { store in
            try store.write { db in
                let fp1 = "abcdef0123456789" + String(repeating: "0", count: 48)
                let fp2 = "abcdef0123456799" + String(repeating: "1", count: 48)
                let i1 = try inserted(ImageRecord(fingerprint: fp1, template: "debian", size: 1), db)
                let i2 = try inserted(ImageRecord(fingerprint: fp2, template: "alpine", size: 2), db)
                let alias = try ImageAliasRecord.set("debian/12", image: try i1.requireID(), in: db)
                #expect(alias.id != nil)
                try ImageAliasRecord.set("debian", image: try i1.requireID(), in: db)
                #expect(try ImageAliasRecord.names(image: try i1.requireID(), in: db) == ["debian", "debian/12"])
                #expect(try ImageRecord.aliased("debian/12", in: db)?.fingerprint == fp1)
                // Re-pointing replaces the alias of that name.
                try ImageAliasRecord.set("debian/12", image: try i2.requireID(), in: db)
                #expect(try ImageRecord.aliased("debian/12", in: db)?.fingerprint == fp2)
                #expect(try ImageAliasRecord.names(image: try i1.requireID(), in: db) == ["debian"])
                #expect(try ImageAliasRecord.delete(named: "debian", in: db))
                #expect(try !ImageAliasRecord.delete(named: "debian", in: db))
                #expect(try ImageRecord.aliased("debian", in: db) == nil)
                #expect(try ImageRecord.withFingerprintPrefix("ABCDEF012345", in: db).map(\.fingerprint).sorted() == [fp1, fp2])
                #expect(try ImageRecord.withFingerprintPrefix("abcdef012345678", in: db).map(\.fingerprint) == [fp1])
                #expect(try ImageRecord.withFingerprintPrefix("fff", in: db).isEmpty)
                #expect(try ImageRecord.withFingerprint(fp2, in: db)?.template == "alpine")
                let used = Date(timeIntervalSince1970: 1_700_000_000)
                try ImageRecord.markUsed(fingerprint: fp1, at: used, in: db)
                #expect(try ImageRecord.withFingerprint(fp1, in: db)?.lastUsedAt == used)
                #expect(try ImageRecord.withFingerprint(fp2, in: db)?.lastUsedAt == nil)
            }
        }
    }
}

@Suite struct LeaseQueryTests {
    /// Two networks, three containers: c1 eth0+eth1 on n1, c2 eth0 on n1 (static), c3 eth0 on n2.
    struct World {
        var n1: Int64, n2: Int64, c1: Int64, c2: Int64, c3: Int64
        init(_ db: Database) throws {
            n1 = try inserted(NetworkRecord(name: "n1"), db).requireID()
            n2 = try inserted(NetworkRecord(name: "n2"), db).requireID()
            c1 = try inserted(ContainerRecord(name: "c1", image: "i"), db).requireID()
            c2 = try inserted(ContainerRecord(name: "c2", image: "i"), db).requireID()
            c3 = try inserted(ContainerRecord(name: "c3", image: "i"), db).requireID()
            try inserted(IPv4LeaseRecord(networkId: n1, address: "10.0.0.3", containerId: c1, deviceName: "eth1", hwaddr: "m13"), db)
            try inserted(IPv4LeaseRecord(networkId: n1, address: "10.0.0.2", containerId: c1, deviceName: "eth0", hwaddr: "m12"), db)
            try inserted(IPv4LeaseRecord(networkId: n1, address: "10.0.0.9", containerId: c2, deviceName: "eth0", hwaddr: "m29", isStatic: true), db)
            try inserted(IPv4LeaseRecord(networkId: n2, address: "10.1.0.2", containerId: c3, deviceName: "eth0", hwaddr: "m32"), db)
        }
    }

    @Test func perContainerAndPerNetwork() throws {
        try withStore { store in
            try store.write { db in
                let w = try World(db)
                #expect(try IPv4LeaseRecord.count(containerNamed: "c1", in: db) == 2)
                #expect(try IPv4LeaseRecord.count(containerNamed: "nobody", in: db) == 0)
                #expect(try IPv4LeaseRecord.forContainer(w.c1, in: db).map(\.deviceName) == ["eth0", "eth1"])
                #expect(try IPv4LeaseRecord.forDevice("eth1", container: w.c1, in: db)?.address == "10.0.0.3")
                #expect(try IPv4LeaseRecord.forDevice("eth9", container: w.c1, in: db) == nil)
                let all = try IPv4LeaseRecord.byContainer(in: db)
                #expect(all.mapValues { $0.map(\.address) } == [w.c1: ["10.0.0.2", "10.0.0.3"], w.c2: ["10.0.0.9"], w.c3: ["10.1.0.2"]])
                #expect(try IPv4LeaseRecord.addresses(network: w.n1, exceptContainer: w.c1, device: "eth0", in: db).sorted() == ["10.0.0.3", "10.0.0.9"])
                #expect(try IPv4LeaseRecord.networkNames(container: w.c1, in: db) == ["n1"])
                #expect(try IPv4LeaseRecord.containerIDs(networkNamed: "n1", in: db) == [w.c1, w.c2])
                #expect(try IPv4LeaseRecord.containerIDs(networkNamed: "n2", in: db) == [w.c3])
                #expect(try IPv4LeaseRecord.containerIDs(networkNamed: "n3", in: db).isEmpty)
                let n1 = try NetworkLease.all(network: w.n1, in: db)
                #expect(
                    n1 == [
                        NetworkLease(container: "c1", device: "eth0", hwaddr: "m12", address: "10.0.0.2", isStatic: false),
                        NetworkLease(container: "c1", device: "eth1", hwaddr: "m13", address: "10.0.0.3", isStatic: false),
                        NetworkLease(container: "c2", device: "eth0", hwaddr: "m29", address: "10.0.0.9", isStatic: true)
                    ])
                #expect(try NetworkLease.all(network: w.n1, except: (w.c1, "eth1"), in: db).map(\.hwaddr) == ["m12", "m29"])
            }
        }
    }

    @Test func deletingLeases() throws {
        try withStore { store in
            try store.write { db in
                let w = try World(db)
                try IPv4LeaseRecord.delete(container: w.c1, device: "eth1", in: db)
                #expect(try IPv4LeaseRecord.forContainer(w.c1, in: db).map(\.deviceName) == ["eth0"])
                // Nothing stale: nothing deleted.
                #expect(try IPv4LeaseRecord.deleteStale(container: w.c1, keeping: ["eth0", "eth5"], in: db) == 0)
                #expect(try IPv4LeaseRecord.forContainer(w.c1, in: db).count == 1)
                try inserted(IPv4LeaseRecord(networkId: w.n1, address: "10.0.0.4", containerId: w.c1, deviceName: "eth2"), db)
                #expect(try IPv4LeaseRecord.deleteStale(container: w.c1, keeping: ["eth2"], in: db) == 1)
                #expect(try IPv4LeaseRecord.forContainer(w.c1, in: db).map(\.deviceName) == ["eth2"])
                // No NIC kept: every lease of the container goes, and only its.
                #expect(try IPv4LeaseRecord.deleteStale(container: w.c1, keeping: [], in: db) == 1)
                #expect(try IPv4LeaseRecord.forContainer(w.c1, in: db).isEmpty)
                #expect(try IPv4LeaseRecord.fetchCount(db) == 2)
            }
        }
    }

    @Test func staticAddressClaims() throws {
        try withStore { store in
            try store.write { db in
                let c1 = try inserted(ContainerRecord(name: "c1", image: "i"), db).requireID()
                let c2 = try inserted(ContainerRecord(name: "c2", image: "i"), db).requireID()
                let p = try inserted(ProfileRecord(name: "p"), db).requireID()
                try DeviceTable.containers.replace(
                    db, owner: c1,
                    with: [
                        "eth0": ["type": "nic", "network": "n1", "ipv4.address": "10.0.0.5"],
                        "eth1": ["type": "nic", "network": "n2", "ipv4.address": "10.1.0.5"],
                        "eth2": ["type": "nic", "network": "n1"],
                        "disk0": ["type": "disk", "network": "n1", "ipv4.address": "10.0.0.6"]
                    ])
                try DeviceTable.profiles.replace(db, owner: p, with: ["eth9": ["type": "nic", "network": "n1", "ipv4.address": "10.0.0.7"]])
                try ContainerProfiles.replace(db, container: c2, profiles: [p])
                let claims = try StaticAddressClaim.all(network: "n1", in: db)
                #expect(
                    claims == [
                        StaticAddressClaim(address: "10.0.0.5", device: "eth0", container: "c1", containerId: c1, fromProfile: false),
                        StaticAddressClaim(address: "10.0.0.7", device: "eth9", container: "c2", containerId: c2, fromProfile: true)
                    ])
                #expect(try StaticAddressClaim.all(network: "n2", in: db).map(\.address) == ["10.1.0.5"])
                #expect(try StaticAddressClaim.all(network: "n3", in: db).isEmpty)
            }
        }
    }
}
