import Foundation
import GRDB
import SysboxStore

#if canImport(Glibc)
import Glibc
#endif

/// What `storage info` shows.
public struct StorageInfo: Encodable, Sendable {
    public struct Container: Encodable, Sendable {
        public var name: String
        /// The container's own bytes (overlay: its upper layer).
        public var used: UInt64
        public var snapshots: [SnapshotEntry]
    }

    public var driver: String
    public var path: String
    public var images: UInt64
    public var containers: [Container]
    /// Of the filesystem holding the state directory.
    public var filesystemFree: UInt64
    public var filesystemSize: UInt64

    enum CodingKeys: String, CodingKey {
        case driver, path, images, containers
        case filesystemFree = "filesystem_free", filesystemSize = "filesystem_size"
    }
}

struct StorageReport: StateBound {
    let state: State

    /// The storage driver and the space used per image, container and snapshot.
    public func storageInfo() throws -> StorageInfo {
        let driver = try storageDriver()
        let names = try read { db in try ContainerRecord.allNames(in: db) }
        let containers = try names.map { name in
            StorageInfo.Container(name: name, used: driver.usage(container: paths(name)), snapshots: try snapshots.listSnapshots(name))
        }
        var vfs = statvfs()
        let ok = statvfs(stateDirectory, &vfs) == 0
        return StorageInfo(
            driver: driver.name, path: stateDirectory, images: Images.treeSize(stateDirectory + "/images"), containers: containers,
            filesystemFree: ok ? UInt64(vfs.f_bavail) * UInt64(vfs.f_frsize) : 0,
            filesystemSize: ok ? UInt64(vfs.f_blocks) * UInt64(vfs.f_frsize) : 0)
    }
}
