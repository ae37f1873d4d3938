import ArgumentParser
import SysboxCore

struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Take, list, restore and delete snapshots of a container.",
        discussion: """
            A snapshot keeps the container's own files (overlay: its upper layer; dir: its root filesystem) and its config, devices and profile list at that moment. A running container is frozen while its files are copied.

            Examples:
              sysbox snapshot create web1
              sysbox snapshot create web1 before-upgrade --expiry 2w
              sysbox snapshot list web1
              sysbox snapshot restore web1 before-upgrade
              sysbox snapshot delete web1 snap0
            """,
        subcommands: [SnapshotCreate.self, SnapshotList.self, SnapshotShow.self, SnapshotRestore.self, SnapshotRename.self, SnapshotDelete.self, SnapshotPrune.self]
    )
}
