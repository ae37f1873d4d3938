import Foundation
import SysboxCore

/// `list -c`: LXD's column letters, for the table and CSV.
enum ListColumn: Character, CaseIterable {
    case name = "n", status = "s", ipv4 = "4", ipv6 = "6", type = "t", snapshots = "S", created = "c", description = "d"
    case lastUsed = "l", pid = "p", profiles = "P", memory = "m", cpu = "u", processes = "N", image = "f"

    /// sysbox's table without `-c`: NAME, STATUS, IPV4, IMAGE, SNAPSHOTS.
    static let defaults: [ListColumn] = [.name, .status, .ipv4, .image, .snapshots]

    var header: String {
        switch self {
        case .name: "NAME"
        case .status: "STATUS"
        case .ipv4: "IPV4"
        case .ipv6: "IPV6"
        case .type: "TYPE"
        case .snapshots: "SNAPSHOTS"
        case .created: "CREATED AT"
        case .description: "DESCRIPTION"
        case .lastUsed: "LAST USED AT"
        case .pid: "PID"
        case .profiles: "PROFILES"
        case .memory: "MEMORY USAGE"
        case .cpu: "CPU USAGE"
        case .processes: "PROCESSES"
        case .image: "IMAGE"
        }
    }

    /// The columns a `-c` value names, in its order.
    /// - Throws: `SysboxError(.invalidArgument)` naming the unknown letter and the ones there are.
    static func parse(_ text: String) throws -> [ListColumn] {
        guard !text.isEmpty else { throw SysboxError(.invalidArgument, "--columns is empty; give letters such as ns4S (see sysbox list --help)") }
        return try text.map { letter in
            guard let column = ListColumn(rawValue: letter) else {
                let known = allCases.map { "\($0.rawValue) \($0.header.lowercased())" }.joined(separator: ", ")
                throw SysboxError(.invalidArgument, "unknown column \(Names.quote(String(letter))) in --columns; use: \(known)")
            }
            return column
        }
    }

    /// The cell of `v` in this column (`stats`: its cgroup figures, read only for the columns that need them).
    func cell(_ v: ContainerView, stats: CgroupStats?) -> TableCell {
        switch self {
        case .name: .text(v.name)
        case .status: .text(v.status.rawValue.uppercased())
        case .ipv4: .list(v.ipv4)
        case .ipv6: .list([])
        case .type: .text("CONTAINER")
        case .snapshots: .text(String(v.snapshots))
        case .created: .time(v.record.createdAt)
        case .description: .text(v.record.description)
        case .lastUsed: .time(v.record.lastUsedAt)
        case .pid: .text(v.pid.map(String.init) ?? "")
        case .profiles: .list(v.profiles)
        case .memory: stats?.memoryBytes.map { .bytes($0) } ?? .text("")
        case .cpu: .text(stats?.cpuNanoseconds.map { String(format: "%.2fs", Double($0) / 1e9) } ?? "")
        case .processes: .text(stats?.processes.map(String.init) ?? "")
        case .image: .text(v.record.image)
        }
    }

    var needsStats: Bool { [.memory, .cpu, .processes].contains(self) }
}
