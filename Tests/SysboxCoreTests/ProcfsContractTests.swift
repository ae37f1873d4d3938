import CSysbox
import Testing
@testable import SysboxCore

/// What the Swift CLI and the C front read through one C function each (procfs.c): /proc/PID/cgroup
/// and the container-name rule.
@Suite struct ProcfsContractTests {
    static let combined = CgroupLayout.parse(
        mountinfo: """
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
            41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """)

    @Test func procCgroupLinesMatchTheirHierarchies() {
        // Controllers in another order than the mount's, the root path, a v2 line, and lines to skip:
        // a relative path, one with "..", a hierarchy this host does not have, garbage.
        let text = """
            12:cpuacct,cpu:/sysbox/abc/c1
            11:memory:/
            10:name=systemd:/sysbox/abc/c1/init.scope
            9:pids:/elsewhere
            8:memory:relative
            7:memory:/../../escape
            not a line
            0::/sysbox/abc/c1

            """
        let targets = ContainerCgroup.parseProcCgroup(text, layout: Self.combined)
        #expect(
            targets.tasks == [
                "/sys/fs/cgroup/cpu,cpuacct/sysbox/abc/c1/tasks", "/sys/fs/cgroup/memory/tasks",
                "/sys/fs/cgroup/systemd/sysbox/abc/c1/init.scope/tasks"
            ])
        #expect(targets.v2Directory == "/sys/fs/cgroup/unified/sysbox/abc/c1")
    }

    @Test func procCgroupOnAPureV2Host() {
        let layout = CgroupLayout.parse(mountinfo: "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n")
        let targets = ContainerCgroup.parseProcCgroup("0::/\n", layout: layout)
        #expect(targets.tasks.isEmpty)
        #expect(targets.v2Directory == "/sys/fs/cgroup")
    }

    @Test func containerNamesFollowOneRule() {
        let valid = ["c1", "web-1", "a", "A9", String(repeating: "x", count: 63), "1a", "a1-2"]
        let invalid = ["", "-a", "a-", "123", "a_b", "a.b", "a/b", "é", "a b", String(repeating: "x", count: 64), "a\u{1b}", "a\u{0}b", "a\u{0}/../x"]
        for name in valid {
            #expect(name.withCString(sysbox_valid_container_name) == 1, "C refuses \(name)")
            #expect(Names.problem(name, as: .container) == nil)
        }
        for name in invalid {
            // C sees a C string (argv never holds a NUL); Swift refuses a NUL itself.
            if !name.contains("\0") { #expect(name.withCString(sysbox_valid_container_name) == 0, "C accepts \(name)") }
            // Swift's own checks find the specific reason: the two rules agree on every name here.
            let problem = Names.problem(name, as: .container)
            #expect(problem != nil && problem?.hasPrefix("use 1-63") == false, "\(name): \(problem ?? "nil")")
        }
    }
}
