import Foundation
import SysboxStore
import Testing
@testable import SysboxCore

/// `list` filters compare typed values.
@Suite struct TypedFilterTests {
    @Test func booleansIntegersSizesAndDefaults() throws {
        for actual in [nil, "false", "Off", "0", "no", "FALSE"] {
            #expect(InstanceConfig.filterMatches("security.nesting", wanted: "false", actual: actual), "\(actual ?? "unset")")
            #expect(!InstanceConfig.filterMatches("security.nesting", wanted: "true", actual: actual), "\(actual ?? "unset")")
        }
        #expect(InstanceConfig.filterMatches("security.nesting", wanted: "yes", actual: "on"))
        #expect(InstanceConfig.filterMatches("limits.processes", wanted: "500", actual: "0500"))
        #expect(!InstanceConfig.filterMatches("limits.processes", wanted: "50", actual: "500"))
        #expect(InstanceConfig.filterMatches("boot.autostart.priority", wanted: "0", actual: nil))  // the default
        #expect(InstanceConfig.filterMatches("limits.memory", wanted: "1GiB", actual: "1024MiB"))
        #expect(InstanceConfig.filterMatches("limits.cpu", wanted: "0-1", actual: "0,1"))
        #expect(!InstanceConfig.filterMatches("limits.memory", wanted: "1GiB", actual: nil))
        #expect(InstanceConfig.filterMatches("limits.memory", wanted: "", actual: nil))
        #expect(InstanceConfig.filterMatches("user.role", wanted: "web", actual: "web"))
        #expect(!InstanceConfig.filterMatches("user.role", wanted: "Web", actual: "web"))
    }

    @Test func filterValuesAreChecked() throws {
        try InstanceConfig.validateFilter("security.nesting", "Off")
        try InstanceConfig.validateFilter("limits.memory", "")
        try InstanceConfig.validateFilter("user.anything", "x y")
        #expect(message { try InstanceConfig.validateFilter("security.nesting", "maybe") }.contains("expected true or false"))
        #expect(
            message { try InstanceConfig.validateFilter("limits.memroy", "1") }
                == "unknown filter key limits.memroy; did you mean limits.memory? Use status, image, profile, name or a config key")
        #expect(
            message { try InstanceConfig.validateFilter("bogus", "1") }
                == "unknown filter key bogus; use status, image, profile, name or a config key")
    }
}

/// `ContainerFilter`: parsing and checking a `list` filter, then matching containers.
@Suite struct ContainerFilterTests {
    /// A container as `list` sees it.
    func view(
        _ name: String, image: String = "busybox", profiles: [String] = ["default"], status: ContainerStatus = .stopped,
        config: [String: String] = [:]
    ) -> ContainerView {
        ContainerView(
            record: ContainerRecord(name: name, image: image), profiles: profiles, local: ConfigLayer(config: config),
            expanded: ConfigLayer(config: config), snapshots: 0, status: status, pid: nil, ipv4: [])
    }

    @Test func parsesEachKindOfFilter() throws {
        #expect(try ContainerFilter(parsing: "web").criterion == .namePrefix("web"))
        #expect(try ContainerFilter(parsing: "status=Running").criterion == .status(.running))
        #expect(try ContainerFilter(parsing: "state=STOPPED").criterion == .status(.stopped))
        #expect(try ContainerFilter(parsing: "image=debian").criterion == .image("debian"))
        #expect(try ContainerFilter(parsing: "profile=small").criterion == .profile("small"))
        #expect(try ContainerFilter(parsing: "name=web1").criterion == .name("web1"))
        #expect(try ContainerFilter(parsing: "limits.memory=1GiB").criterion == .config(key: "limits.memory", value: "1GiB"))
        #expect(try ContainerFilter(parsing: "user.role=").criterion == .config(key: "user.role", value: ""))
        #expect(try ContainerFilter(parsing: "user.note=a=b").criterion == .config(key: "user.note", value: "a=b"))
    }

    /// Every status of the type is a filter, starting and stopping included (a hand-kept list had lost them).
    @Test func everyStatusIsAccepted() throws {
        #expect(ContainerFilter.statusNames == ["running", "stopped", "starting", "stopping", "frozen", "error"])
        for status in ContainerStatus.allCases {
            #expect(try ContainerFilter(parsing: "status=\(status.rawValue.lowercased())").criterion == .status(status))
        }
        #expect(Set(ContainerStatus.allCases.map(\.rawValue)).count == ContainerStatus.allCases.count)
        for status in ContainerStatus.allCases { #expect(ContainerStatus(rawValue: status.rawValue) == status) }
    }

    @Test func badFiltersAreRefused() {
        #expect(
            message { _ = try ContainerFilter(parsing: "status=stoped") }
                == "unknown status \"stoped\" in filter status; did you mean stopped? Use running, stopped, starting, stopping, frozen or error")
        #expect(
            message { _ = try ContainerFilter(parsing: "state=paused") }
                == "unknown status \"paused\" in filter state; use running, stopped, starting, stopping, frozen or error")
        #expect(
            message { _ = try ContainerFilter(parsing: "limits.memroy=1") }
                == "unknown filter key limits.memroy; did you mean limits.memory? Use status, image, profile, name or a config key")
        #expect(message { _ = try ContainerFilter(parsing: "security.nesting=maybe") }.contains("expected true or false"))
        #expect(message { _ = try ContainerFilter(parsing: "=x") }.contains("a config key cannot be empty"))
        #expect(throws: SysboxError.self) { try ContainerFilter.parse(["web", "status=running", "bogus=1"]) }
    }

    @Test func matches() throws {
        let web = view(
            "web1", image: "debian", profiles: ["default", "small"], status: .running,
            config: ["security.nesting": "yes", "limits.memory": "1024MiB"])
        let db = view("db1")
        func names(_ filters: String...) throws -> [String] {
            let parsed = try ContainerFilter.parse(filters)
            return [web, db].filter(parsed.allMatch).map(\.name)
        }
        #expect(try names() == ["web1", "db1"])
        #expect(try names("web") == ["web1"])
        #expect(try names("we", "d") == [])
        #expect(try names("status=running") == ["web1"])
        #expect(try names("status=stopped") == ["db1"])
        #expect(try names("status=starting") == [])
        #expect(try names("image=debian") == ["web1"])
        #expect(try names("image=Debian") == [])
        #expect(try names("profile=small") == ["web1"])
        #expect(try names("profile=default") == ["web1", "db1"])
        #expect(try names("name=web") == [])
        #expect(try names("name=db1") == ["db1"])
        #expect(try names("security.nesting=true") == ["web1"])
        #expect(try names("security.nesting=false") == ["db1"])
        #expect(try names("limits.memory=1GiB") == ["web1"])
        #expect(try names("limits.memory=") == ["db1"])
        #expect(try names("status=running", "profile=small", "web") == ["web1"])
    }
}
