import Foundation
import GRDB
import SysboxStore
import Testing
@testable import SysboxCore

/// A manager on a fresh state directory using the repository's Profiles/.
final class ManagerFixture {
    let dir = NSTemporaryDirectory() + "sysbox-core-test-\(UUID().uuidString)"
    let manager: Manager

    init(data: String? = repositoryRoot) throws {
        manager = try Manager(stateDirectory: dir, dataDirectory: data)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Every row of every table, to prove a failed command changed nothing.
    func dump() throws -> String {
        try manager.store.read { db in
            var out = ""
            for table in try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name") {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid") { out += "\(table) \(row)\n" }
            }
            return out
        }
    }
}

@Suite struct ManagerTests {
    @Test func shippedProfilesAreImportedOnce() throws {
        let f = try ManagerFixture()
        let names = try f.manager.listProfiles().map(\.name)
        #expect(names.contains("default") && names.contains("small"))
        try f.manager.deleteProfile("small")
        // Reopening does not bring a deleted shipped profile back.
        let again = try Manager(stateDirectory: f.dir, dataDirectory: repositoryRoot)
        #expect(!(try again.listProfiles().map(\.name)).contains("small"))
    }

    /// The default network is recorded at a state directory's first use: SYSBOX_DEFAULT_NETWORK, else
    /// sysboxbr0, and the shipped profiles' NICs use it; a bad name imports nothing.
    @Test func defaultNetworkIsChosenAtFirstUse() throws {
        let f = try ManagerFixture()
        #expect(try f.manager.profileDocument("default").layer.devices["eth0"]?["network"] == "sysboxbr0")
        #expect(try f.manager.store.read { db in try Networks(state: f.manager.state).defaultNetwork(db) } == "sysboxbr0")
        let dir = NSTemporaryDirectory() + "sysbox-core-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let state = try State(stateDirectory: dir, dataDirectory: repositoryRoot, busyTimeout: 10)
        #expect(throws: SysboxError.self) { try Profiles(state: state).seedShipped(environment: ["SYSBOX_DEFAULT_NETWORK": "bad_name"]) }
        #expect(try state.store.read { db in try ProfileRecord.allNames(in: db) }.isEmpty)
        try Profiles(state: state).seedShipped(environment: ["SYSBOX_DEFAULT_NETWORK": "labbr0"])
        #expect(try Profiles(state: state).profileDocument("default").layer.devices["eth0"]?["network"] == "labbr0")
        #expect(try state.store.read { db in try Networks(state: state).defaultNetwork(db) } == "labbr0")
        // Later runs change nothing.
        try Profiles(state: state).seedShipped(environment: ["SYSBOX_DEFAULT_NETWORK": "otherbr0"])
        #expect(try state.store.read { db in try Networks(state: state).defaultNetwork(db) } == "labbr0")
    }

    @Test func missingDataDirectoryIsAClearError() throws {
        let dir = NSTemporaryDirectory() + "sysbox-core-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try Manager(stateDirectory: dir, dataDirectory: nil)
            Issue.record("opened without shipped profiles")
        } catch let error as SysboxError {
            #expect(error.message.contains("SYSBOX_DATA_DIR"))
        }
    }

    @Test func createExpandsProfilesInOrder() throws {
        let f = try ManagerFixture()
        try f.manager.createProfile("big", ProfileDocument(config: ["limits.cpu": "4", "limits.memory": "4GiB"]))
        let view = try f.manager.createContainer(
            CreateRequest(
                name: "c1", image: "busybox", profiles: ["default", "small", "big"],
                config: ["limits.memory": "3GiB"]))
        #expect(view.profiles == ["default", "small", "big"])
        #expect(view.expanded.config["limits.cpu"] == "4")  // big after small
        #expect(view.expanded.config["limits.memory"] == "3GiB")  // the container's own wins
        #expect(view.expanded.config["limits.processes"] == "500")  // from small
        #expect(view.expanded.devices["root"] == ["type": "disk", "path": "/"])
        #expect(view.local.config["volatile.uuid"]?.count == 36)
        #expect(view.status == .stopped && view.pid == nil)
    }

    @Test func createRefusalsChangeNothing() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "c1", image: "busybox"))
        let before = try f.dump()
        let bad: [(CreateRequest, SysboxError.Code, String)] = [
            (CreateRequest(name: "c1", image: "busybox"), .alreadyExists, "already exists"),
            (CreateRequest(name: "bad_name", image: "busybox"), .invalidArgument, "invalid container name"),
            (CreateRequest(name: "c2", image: "../etc"), .invalidArgument, "invalid image name"),
            (CreateRequest(name: "c2", image: "busybox", profiles: ["nope"]), .notFound, "profile nope not found"),
            (CreateRequest(name: "c2", image: "busybox", profiles: ["defualt"]), .notFound, "did you mean default?"),
            (CreateRequest(name: "c2", image: "busybox", profiles: ["small", "small"]), .invalidArgument, "given twice"),
            (CreateRequest(name: "c2", image: "busybox", profiles: []), .invalidArgument, "no root disk"),
            (CreateRequest(name: "c2", image: "busybox", config: ["limits.cpu": "lots"]), .invalidArgument, "limits.cpu"),
            (CreateRequest(name: "c2", image: "busybox", config: ["volatile.uuid": "x"]), .invalidArgument, "read-only"),
            (CreateRequest(name: "c2", image: "busybox", devices: ["r2": ["type": "disk", "path": "/"]]), .invalidArgument, "both root disks")
        ]
        for (request, code, text) in bad {
            do {
                try f.manager.createContainer(request)
                Issue.record("created \(request.name)")
            } catch let error as SysboxError {
                #expect(error.code == code, "\(error.message)")
                #expect(error.message.contains(text), "\(error.message) should contain \(text)")
            }
        }
        #expect(try f.dump() == before)
    }

    @Test func configAndDeviceEdits() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "c1", image: "busybox"))
        try f.manager.setConfig(.container("c1"), [("limits.memory", "1GiB"), ("user.role", "web")])
        #expect(try f.manager.layer(of: .container("c1")).config["limits.memory"] == "1GiB")
        try f.manager.unsetConfig(.container("c1"), ["user.role"])
        #expect(try f.manager.layer(of: .container("c1")).config["user.role"] == nil)

        let before = try f.dump()
        #expect(throws: SysboxError.self) { try f.manager.setConfig(.container("c1"), [("limits.memory", "2GiB"), ("limits.cpu", "x")]) }
        #expect(throws: SysboxError.self) { try f.manager.unsetConfig(.container("c1"), ["limits.cpu"]) }  // not set
        #expect(throws: SysboxError.self) { try f.manager.removeDevices(.container("c1"), names: ["root"]) }  // from a profile
        #expect(throws: SysboxError.self) { try f.manager.addDevice(.container("c1"), name: "r2", ["type": "disk", "path": "/"]) }
        #expect(throws: SysboxError.self) { try f.manager.setConfig(.container("nope"), [("limits.cpu", "1")]) }
        #expect(try f.dump() == before)

        try f.manager.addDevice(.container("c1"), name: "data", ["type": "disk", "path": "/data", "source": "/srv"])
        try f.manager.setDevice(.container("c1"), name: "data", [("readonly", "true")])
        #expect(try f.manager.layer(of: .container("c1")).devices["data"]?["readonly"] == "true")
        try f.manager.unsetDevice(.container("c1"), name: "data", keys: ["readonly"])
        try f.manager.overrideDevice(container: "c1", name: "eth0", [("hwaddr", "00:16:3e:00:00:09")])
        #expect(try f.manager.layer(of: .container("c1"), expanded: true).devices["eth0"]?["hwaddr"] == "00:16:3e:00:00:09")
        try f.manager.addDevice(.container("c1"), name: "eth1", ["type": "none"])
        try f.manager.removeDevices(.container("c1"), names: ["data", "eth1"])
        #expect(try f.manager.layer(of: .container("c1")).devices.keys.sorted() == ["eth0"])
        do {
            try f.manager.removeDevices(.container("c1"), names: ["root"])
        } catch let error as SysboxError {
            #expect(error.message.contains("comes from profile default"))
        }
    }

    @Test func profileLifecycleAndUsers() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "c1", image: "busybox", profiles: ["default", "small"]))
        try f.manager.createContainer(CreateRequest(name: "c2", image: "busybox", profiles: ["default", "small"]))
        let before = try f.dump()
        do {
            try f.manager.deleteProfile("small")
            Issue.record("deleted a profile in use")
        } catch let error as SysboxError {
            #expect(error.code == .inUse)
            #expect(error.message.contains("c1, c2"))
        }
        #expect(throws: SysboxError.self) { try f.manager.deleteProfile("default") }
        #expect(throws: SysboxError.self) { try f.manager.renameProfile("default", to: "x") }
        #expect(throws: SysboxError.self) { try f.manager.renameProfile("small", to: "medium") }
        #expect(throws: SysboxError.self) { try f.manager.createProfile("small", ProfileDocument()) }
        // Emptying default would leave c1 and c2 without a root disk.
        do {
            try f.manager.updateProfile("default", ProfileDocument())
            Issue.record("broke the users of default")
        } catch let error as SysboxError {
            #expect(error.message.contains("would break container c1"))
        }
        #expect(try f.dump() == before)

        try f.manager.renameProfile("small", to: "tiny")
        #expect(try f.manager.profiles(of: "c1") == ["default", "tiny"])
        try f.manager.copyProfile("tiny", to: "tiny2")
        #expect(try f.manager.profileDocument("tiny2") == f.manager.profileDocument("tiny"))
        try f.manager.assignProfiles(container: "c1", profiles: ["default"])
        try f.manager.assignProfiles(container: "c2", profiles: ["tiny2", "default"])
        try f.manager.deleteProfile("tiny")
        #expect(throws: SysboxError.self) { try f.manager.assignProfiles(container: "c2", profiles: ["tiny2"]) }  // no root disk
        try f.manager.deleteContainers(["c2"])
        try f.manager.deleteProfile("tiny2")
        #expect(try f.manager.listContainers().map(\.name) == ["c1"])
    }

    @Test func twoStateDirectoriesDoNotInterfere() throws {
        let a = try ManagerFixture(), b = try ManagerFixture()
        try a.manager.createContainer(CreateRequest(name: "same", image: "busybox", description: "in a"))
        try b.manager.createContainer(CreateRequest(name: "same", image: "busybox", description: "in b"))
        try a.manager.deleteProfile("small")
        #expect(try a.manager.containerView("same").record.description == "in a")
        #expect(try b.manager.containerView("same").record.description == "in b")
        #expect(try b.manager.listProfiles().map(\.name).contains("small"))
    }
}

@Suite struct OutputTests {
    func sampleView() throws -> (ManagerFixture, [ContainerView]) {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "web1", image: "busybox", description: "front, \"main\""))
        try f.manager.createContainer(CreateRequest(name: "a-container-with-a-rather-long-name-for-testing-width", image: "busybox"))
        return (f, try f.manager.listContainers())
    }

    @Test func jsonShape() throws {
        let (_, views) = try sampleView()
        let json = try OutputFormat.json(views.map(ContainerListEntry.init))
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(array.count == 2)
        let web = try #require(array.first { $0["name"] as? String == "web1" })
        #expect(web["status"] as? String == "Stopped")
        #expect(web["ipv4"] as? [String] == [])
        #expect(web["pid"] is NSNull)
        #expect(web["image"] as? String == "busybox")
        #expect(web["profiles"] as? [String] == ["default"])
        #expect(web["snapshots"] as? Int == 0)
        #expect(web["last_used_at"] is NSNull)
        #expect((web["created_at"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func yamlShape() throws {
        let (_, views) = try sampleView()
        let format = try OutputFormat(parsing: "yaml")
        let text = try format.render(headers: [], rows: [], objects: views.map(ContainerListEntry.init), width: nil)
        #expect(text.contains("- name: web1") || text.contains("name: web1"))
        #expect(text.contains("pid: null"))
        #expect(text.contains("status: Stopped"))
        #expect(text.contains("ipv4: []"))
    }

    @Test func csvQuotingAndHeader() throws {
        let csv = TextTable.csv(headers: ["A", "B"], rows: [["x,y", "say \"hi\""], ["plain", "two\nlines"]])
        #expect(csv == "A,B\n\"x,y\",\"say \"\"hi\"\"\"\nplain,\"two\nlines\"\n")
        let format = try OutputFormat(parsing: "csv,noheader")
        #expect(try format.render(headers: ["A"], rows: [["1\n2"]], objects: [String](), width: nil) == "\"1,2\"\n")
    }

    @Test func formatNamesAreChecked() {
        #expect(throws: SysboxError.self) { try OutputFormat(parsing: "jsn") }
        #expect(throws: SysboxError.self) { try OutputFormat(parsing: "json,noheader") }
        #expect((try? OutputFormat(parsing: "table,noheader"))?.header == false)
    }

    @Test func tableFitsTheWidth() throws {
        let (_, views) = try sampleView()
        let rows = views.map { [$0.name, $0.status.rawValue.uppercased(), "10.0.3.200\n10.0.4.200", $0.record.image, "0"] }
        let text = TextTable.render(headers: ["NAME", "STATUS", "IPV4", "IMAGE", "SNAPSHOTS"], rows: rows, maxWidth: 80)
        let lines = text.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(text)")
        #expect(Set(lines.map(\.count)).count == 1, "rows must align:\n\(text)")
        #expect(text.contains("…"))
        #expect(text.contains("| 10.0.4.200 |"))  // second line of a multi-line cell
        let wide = TextTable.render(headers: ["NAME"], rows: [["x"]], maxWidth: 80)
        #expect(wide == "+------+\n| NAME |\n+------+\n| x    |\n+------+\n")
    }
}

@Suite struct DataDirectoryTests {
    /// Installed by scripts/install: PREFIX/bin/sysbox (the front) and PREFIX/libexec/sysbox/sysbox-manager
    /// (the Swift CLI) both find PREFIX/share/sysbox; a build directory finds its checkout.
    @Test func foundFromBinAndLibexec() throws {
        let prefix = NSTemporaryDirectory() + "sysbox-prefix-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        try FileManager.default.createDirectory(atPath: prefix + "/share/sysbox/Profiles", withIntermediateDirectories: true)
        #expect(Paths.dataDirectory(environment: [:], executable: prefix + "/bin/sysbox-manager") == prefix + "/share/sysbox")
        #expect(Paths.dataDirectory(environment: [:], executable: prefix + "/libexec/sysbox/sysbox-manager") == prefix + "/share/sysbox")
        #expect(Paths.dataDirectory(environment: [:], executable: prefix + "/elsewhere/a/b/sysbox-manager") == nil)
        #expect(Paths.dataDirectory(environment: ["SYSBOX_DATA_DIR": "/x"], executable: prefix + "/bin/sysbox") == "/x")
    }
}
