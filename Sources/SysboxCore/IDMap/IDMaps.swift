import Foundation
import GRDB
import SysboxStore

/// What a container's expanded config asks of its id map.
public struct IDMapConfig: Sendable, Equatable {
    /// `security.privileged`: no user namespace, so no map.
    public var privileged: Bool
    /// `security.idmap.isolated`: its own range (true, the default) or the shared map.
    public var isolated: Bool
    /// `security.idmap.size`.
    public var size: Int64
    /// `security.idmap.base`: a fixed first host id instead of an allocated one.
    public var base: Int64?
    /// `raw.idmap`.
    public var raw: [IDMapEntry]

    /// Reads the keys of an expanded config (defaults for unset keys).
    /// - Throws: `SysboxError(.invalidArgument)` naming the container, the key and the fix.
    public init(expanded config: [String: String], container name: String) throws {
        func value(_ key: String) throws -> String? {
            guard let v = config[key] ?? InstanceConfig.defaultValue(key) else { return nil }
            do {
                try InstanceConfig.validate(key, v, writer: .system)
            } catch let error as SysboxError {
                throw error.wrapped("container \(name): \(error.message)")
            }
            return v
        }
        privileged = try value("security.privileged").map { (try? Values.bool($0)) ?? true } ?? true
        isolated = try value("security.idmap.isolated").map { (try? Values.bool($0)) ?? true } ?? true
        size = try value("security.idmap.size").flatMap { Int64($0) } ?? IDMapAllocator.minimumSize
        base = try value("security.idmap.base").flatMap { Int64($0) }
        raw = try value("raw.idmap").map { (try? RawIDMap.parse($0)) ?? [] } ?? []
        if base != nil && !isolated {
            throw SysboxError.invalid(
                "container \(name): security.idmap.base needs an own range; set security.idmap.isolated=true or unset security.idmap.base")
        }
    }

    /// The check of `security.idmap.size`: an integer of at least 65536 (systemd and `nobody`, 65534,
    /// need the full 16-bit range).
    static func checkSize(_ v: String) throws(ValueError) {
        let n = try Values.integer(v, in: 1...(IDMap.maxID + 1))
        guard n >= IDMapAllocator.minimumSize else {
            throw ValueError("a map needs at least \(IDMapAllocator.minimumSize) ids (nobody is 65534 and systemd refuses less); use 65536 or more")
        }
    }
}

/// The id maps of unprivileged containers: allocates each container's host id range in the database
/// (in a write transaction, so no two containers ever get overlapping ranges), computes its map from
/// its config and records it in LXD's volatile keys: `volatile.idmap.base` (the first host uid of its
/// range), `volatile.idmap.next` (the map of its next start) and `volatile.idmap.current` (the map it
/// last started with). A copy gets none of them (a copy drops every `volatile.*` key but the base
/// image), so it gets a new range; a deleted container's range is free again (ranges are computed from
/// the rows that exist).
struct IDMaps: StateBound {
    let state: State
    /// Where root's subordinate ids are read from.
    var files: SubIDFiles = .system

    static let baseKey = "volatile.idmap.base", nextKey = "volatile.idmap.next", currentKey = "volatile.idmap.current"

    /// The map of `name`'s next start, allocating its range when it has none (or its old one no longer
    /// fits), and records `volatile.idmap.base` and `volatile.idmap.next`. A privileged container gets
    /// no map: nil, its range freed and `volatile.idmap.next` set to `[]`. Call it inside
    /// `Store.write` (an immediate transaction: concurrent allocations queue); reads `/etc/subuid` and
    /// `/etc/subgid` and may record the default range in the settings on first use.
    /// - Throws: `SysboxError(.invalidArgument)`: bad config, an exhausted source, a range or
    ///   `raw.idmap` host id that collides with another container's; `.notFound`: no such container.
    ///   On a throw the transaction must be rolled back (nothing changed).
    func next(_ db: Database, container name: String) throws -> IDMap? {
        guard let allocation = try allocate(db, container: name, recordSource: true) else {
            throw SysboxError(.internalError, "the id map source of \(name) was not recorded")
        }
        try ConfigTable.containers.set(db, owner: allocation.owner, key: Self.baseKey, value: allocation.base)
        try ConfigTable.containers.set(db, owner: allocation.owner, key: Self.nextKey, value: allocation.next)
        return allocation.map
    }

    /// `next(_:container:)` in as few write transactions as it needs: most starts keep the map they
    /// had, which a read finds (a write transaction costs an fsync, `synchronous = FULL`); a new or
    /// changed map is allocated again inside a write transaction (concurrent allocations queue there).
    func next(container name: String) throws -> IDMap? {
        let unchanged = try read { db -> Allocation? in
            guard let allocation = try allocate(db, container: name, recordSource: false) else { return nil }
            return allocation.base == allocation.local[Self.baseKey] && allocation.next == allocation.local[Self.nextKey] ? allocation : nil
        }
        if let unchanged { return unchanged.map }
        return try write { db in try next(db, container: name) }
    }

    /// What `next` records: the map, `volatile.idmap.base` (nil: none) and `volatile.idmap.next`, for
    /// the container's row `owner` whose own config is `local`.
    struct Allocation {
        var owner: Int64
        var local: [String: String]
        var map: IDMap?
        var base: String?
        var next: String
    }

    /// The allocation `next` records, computed without writing but for the default range's settings
    /// on first use (`recordSource`; without it, nil when they are not recorded yet).
    private func allocate(_ db: Database, container name: String, recordSource: Bool) throws -> Allocation? {
        let record = try container(db, name)
        let id = try record.requireID()
        let all = try Self.expandedConfigs(db)
        let local = all[id]?.local ?? [:]
        let wanted = try IDMapConfig(expanded: all[id]?.expanded ?? [:], container: name)
        if wanted.privileged {
            return Allocation(owner: id, local: local, map: nil, base: nil, next: "[]")
        }
        guard let source = try self.source(db, record: recordSource) else { return nil }
        var others: [IDBlock] = []
        var sharedSizes: [Int64] = wanted.isolated ? [] : [wanted.size]
        for (otherID, other) in all where otherID != id {
            guard let block = Self.block(of: other, source: source) else { continue }
            if block.uid.lowerBound == source.uidStart && other.expanded["security.idmap.base"] == nil {
                sharedSizes.append(Int64(block.uid.count))
            } else {
                others.append(block)
            }
        }
        let sharedExtent = IDMapAllocator.sharedExtent(sizes: sharedSizes)
        let shared = source.block(owner: "", offset: 0, length: sharedExtent)
        let prefix = "container \(name):"

        let uidBase: Int64, gidBase: Int64
        if !wanted.isolated {
            guard wanted.size <= source.size else { throw exhausted(name, wanted, source) }
            let mine = source.block(owner: name, offset: 0, length: wanted.size)
            if let clash = others.first(where: { $0.overlaps(mine) }) {
                throw SysboxError.invalid(
                    "\(prefix) the shared map of security.idmap.size \(wanted.size) reaches into \(clash.summary); lower security.idmap.size or set security.idmap.isolated=true")
            }
            (uidBase, gidBase) = (source.uidStart, source.gidStart)
        } else if let base = wanted.base {
            guard base + wanted.size - 1 <= IDMap.maxID else {
                throw SysboxError.invalid("\(prefix) security.idmap.base \(base) plus security.idmap.size \(wanted.size) passes the highest id \(IDMap.maxID); lower either")
            }
            let mine = IDBlock(owner: name, uid: base..<(base + wanted.size), gid: base..<(base + wanted.size))
            if let clash = ([shared] + others).first(where: { $0.overlaps(mine) }) {
                throw SysboxError.invalid("\(prefix) security.idmap.base \(base) overlaps \(clash.summary); pick another base or unset security.idmap.base")
            }
            (uidBase, gidBase) = (base, base)
        } else if let kept = Int64(local[Self.baseKey] ?? ""), fits(kept, wanted.size, source: source, shared: shared, others: others) {
            (uidBase, gidBase) = (kept, source.gidBase(forUID: kept))
        } else {
            let taken = others + [shared]
            guard let base = IDMapAllocator.firstFree(size: wanted.size, source: source, sharedExtent: sharedExtent, taken: taken) else {
                throw exhausted(name, wanted, source)
            }
            (uidBase, gidBase) = (base, source.gidBase(forUID: base))
        }

        let sourceBlock = source.block(owner: "", offset: 0, length: source.size)
        for entry in wanted.raw {
            for kind in IDKind.allCases where entry.covers(kind) {
                let zone = (kind == .uid ? \IDBlock.uid : \IDBlock.gid)
                if let clash = others.first(where: { $0[keyPath: zone].overlaps(entry.hostRange) }) {
                    throw SysboxError.invalid(
                        "\(prefix) raw.idmap maps host \(kind)s \(IDRanges.text(entry.hostRange)), inside \(clash.summary); map host ids outside it")
                }
                if entry.hostRange.overlaps(sourceBlock[keyPath: zone]) {
                    throw SysboxError.invalid(
                        "\(prefix) raw.idmap maps host \(kind)s \(IDRanges.text(entry.hostRange)), inside the ids sysbox gives containers, \(source.summary); map host ids outside it"
                    )
                }
            }
        }
        let map: IDMap
        do {
            map = try RawIDMap.merge(wanted.raw, into: .block(uidBase: uidBase, gidBase: gidBase, size: wanted.size), size: wanted.size)
        } catch {
            throw SysboxError.invalid("\(prefix) invalid raw.idmap: \(error.message)", cause: error)
        }
        do {
            try map.validate()
        } catch let error as SysboxError {
            throw error.wrapped("\(prefix) \(error.message)")
        }
        return Allocation(owner: id, local: local, map: map, base: String(uidBase), next: map.json)
    }

    /// Records the map a start of `name` succeeded with (`volatile.idmap.current`; `[]` for a
    /// privileged container). The runtime calls it once the user namespace's maps are written.
    func recordCurrent(_ db: Database, container name: String, _ map: IDMap?) throws {
        try ConfigTable.containers.set(db, owner: try container(db, name).requireID(), key: Self.currentKey, value: (map ?? IDMap(entries: [])).json)
    }

    /// `recordCurrent(_:container:_:)` in its own write transaction.
    func recordCurrent(container name: String, _ map: IDMap?) throws {
        try write { db in try recordCurrent(db, container: name, map) }
    }

    /// The recorded map under `key` (`volatile.idmap.current` or `.next`) of `name`: nil when unset or
    /// `[]` (privileged).
    /// - Throws: `SysboxError(.invalidArgument)` when the recorded JSON is unreadable.
    func recorded(_ db: Database, container name: String, key: String = IDMaps.currentKey) throws -> IDMap? {
        let config = try ConfigTable.containers.load(db, owner: try container(db, name).requireID())
        guard let text = config[key] else { return nil }
        do {
            let map = try IDMap(json: text)
            return map.entries.isEmpty ? nil : map
        } catch {
            throw SysboxError.invalid("container \(name): \(key) is unreadable: \(error.message); run sysbox start \(name) to record it again", cause: error)
        }
    }

    // MARK: - Helpers

    /// Where ranges come from: root's subuid/subgid ranges, else the database's default range (recorded
    /// in the settings on first use when `record` is set; nil when it is not and they are not recorded).
    func source(_ db: Database, record: Bool = true) throws -> IDMapSource? {
        if let fromFiles = try IDMapSource.fromSubIDs(
            uid: SubIDs.rootRanges(path: files.subuid), gid: SubIDs.rootRanges(path: files.subgid), files: files)
        {
            return fromFiles
        }
        var values: [Int64] = []
        for (key, initial) in [(IDMapSource.baseSetting, IDMapSource.defaultBase), (IDMapSource.sizeSetting, IDMapSource.defaultSize)] {
            guard let text = try Settings.get(db, key) else {
                guard record else { return nil }
                try Settings.set(db, key, String(initial))
                values.append(initial)
                continue
            }
            guard let n = Int64(text), n >= 1, n <= IDMap.maxID else {
                throw SysboxError.invalid("the setting \(key) in \(store.path) is \(Names.quote(text)), not an id count; set it back to \(initial)")
            }
            values.append(n)
        }
        let (base, size) = (values[0], min(values[1], IDMap.maxID + 1 - values[0]))
        return IDMapSource(uidStart: base, gidStart: base, size: size, origin: .database)
    }

    /// Whether container's kept range at `base` still fits: in the source, after the shared map, apart
    /// from every other container's.
    private func fits(_ base: Int64, _ size: Int64, source: IDMapSource, shared: IDBlock, others: [IDBlock]) -> Bool {
        let offset = base - source.uidStart
        guard offset >= 0, offset + size <= source.size else { return false }
        let mine = source.block(owner: "", offset: offset, length: size)
        return !mine.overlaps(shared) && !others.contains { $0.overlaps(mine) }
    }

    private func exhausted(_ name: String, _ wanted: IDMapConfig, _ source: IDMapSource) -> SysboxError {
        SysboxError.invalid(
            "container \(name): no free range of \(wanted.size) ids is left in \(source.summary); add a larger root: range to \(files.subuid) and \(files.subgid), or use security.idmap.isolated=false"
        )
    }

    /// A container's own config and its expansion with its profiles' config.
    struct ConfigPair {
        var name: String
        var local: [String: String]
        var expanded: [String: String]
    }

    /// Every container's config pair (four queries, whatever the number of containers).
    static func expandedConfigs(_ db: Database) throws -> [Int64: ConfigPair] {
        let locals = try ConfigTable.containers.loadAll(db)
        let profileConfigs = try ConfigTable.profiles.loadAll(db)
        let profileLists = try ContainerProfiles.loadAll(db)
        var out: [Int64: ConfigPair] = [:]
        for record in try ContainerRecord.fetchAll(db) {
            let id = try record.requireID()
            var expanded: [String: String] = [:]
            for profile in profileLists[id] ?? [] {
                expanded.merge(profileConfigs[try profile.requireID()] ?? [:]) { _, new in new }
            }
            let local = locals[id] ?? [:]
            expanded.merge(local) { _, new in new }
            out[id] = ConfigPair(name: record.name, local: local, expanded: expanded)
        }
        return out
    }

    /// The host ids another container holds: from its `volatile.idmap.base`, as long as the larger of
    /// its configured size and the range its running map (`volatile.idmap.current`) uses from there.
    /// Nil for a container with no range (never started unprivileged, or privileged).
    static func block(of other: ConfigPair, source: IDMapSource) -> IDBlock? {
        guard let base = Int64(other.local[baseKey] ?? "") else { return nil }
        let configured = Int64(other.expanded["security.idmap.size"] ?? "") ?? IDMapAllocator.minimumSize
        var extent = max(configured, IDMapAllocator.minimumSize)
        for key in [currentKey, nextKey] {
            guard let text = other.local[key], let map = try? IDMap(json: text) else { continue }
            for entry in map.entries where entry.isUID && entry.hostID - entry.nsID == base {
                extent = max(extent, entry.nsID + entry.range)
            }
        }
        let length = IDMapAllocator.footprint(extent)
        let manual = other.expanded["security.idmap.base"].flatMap { Int64($0) } == base
        let gid = manual ? base : source.gidBase(forUID: base)
        return IDBlock(owner: other.name, uid: base..<(base + length), gid: gid..<(gid + length))
    }
}
