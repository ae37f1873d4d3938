import Foundation
import Testing
@testable import SysboxCore

/// Error wording: one clean sentence, real names.
@Suite struct WordingTests {
    @Test func suggestionsEndTheirSentence() {
        #expect(
            message { _ = try OutputFormat(parsing: "jsn") }
                == "unknown format \"jsn\"; did you mean json? Use table, json, yaml or csv (table and csv take ,noheader)")
        #expect(message { _ = try OutputFormat(parsing: "xml") } == "unknown format \"xml\"; use table, json, yaml or csv (table and csv take ,noheader)")
        #expect(message { _ = try OutputFormat(parsing: "jsn,noheader") }.contains("did you mean json? Use"))
        #expect(message { _ = try OutputFormat(parsing: "json,noheader") }.contains("only table and csv take it"))
        #expect(
            message { try Devices.validate(name: "eth0", ["type": "nick", "network": "n"]) }
                == "device eth0 has unknown type \"nick\"; did you mean nic? Types: nic, disk, proxy, none")
        #expect(
            message { try Devices.validate(name: "eth0", ["type": "nic", "network": "n", "netwrok": "m"]) }
                == "device eth0 (nic) has unknown key netwrok; did you mean network? Known keys: hwaddr, ipv4.address, name, network, security.ipv4_filtering, security.ipv6_filtering, security.mac_filtering"
        )
        #expect(message { try Devices.validate(name: "x", ["type": "none", "path": "/"]) } == "device x (none) has unknown key path; it takes no keys")
        #expect(
            message { _ = try ProfileYAML.parse("confg: {}\n", file: "p.yaml") }
                == "p.yaml:1: unknown top-level key confg; did you mean config? A profile has only description, config and devices")
    }

    /// A suggestion ends its sentence, and the next one starts with a word, never with a lower-case
    /// command capitalised ("… did you mean web1? Sysbox list shows …").
    @Test func notFoundHintsReadAsSentences() throws {
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "web1", image: "busybox"))
        #expect(message { _ = try f.manager.containerView("web2") } == "container web2 not found; did you mean web1? Run sysbox list to see the containers")
        #expect(message { _ = try f.manager.containerView("zzz") } == "container zzz not found; run sysbox list to see the containers")
        #expect(message { _ = try f.manager.profileDocument("smal") } == "profile smal not found; did you mean small? Run sysbox profile list to see the profiles")
    }

    @Test func placeholdersAreFilled() throws {
        let noRoot = message { try Devices.validateSet([:], requireRoot: true) }
        #expect(noRoot.contains("no root disk") && !noRoot.contains("NAME"))
        let f = try ManagerFixture()
        try f.manager.createContainer(CreateRequest(name: "web1", image: "busybox"))
        try f.manager.addDevice(.container("web1"), name: "data", ["type": "disk", "path": "/d", "source": "/tmp"])
        #expect(
            message { try f.manager.addDevice(.container("web1"), name: "data", ["type": "none"]) }
                .contains("sysbox config device set web1 data KEY=VALUE, or remove it first: sysbox config device remove web1 data"))
        #expect(
            message { try f.manager.setDevice(.profile("small"), name: "nope", [("a", "b")]) }
                == "device nope not found on profile small; sysbox profile device list small shows its devices")
        #expect(message { try f.manager.overrideDevice(container: "web1", name: "eth9", []) }.contains("it inherits: eth0, root"))
    }
}

/// A re-worded error keeps the one it came from as its `cause` (for logs and programs).
@Suite struct ErrorCauseTests {
    @Test func rewrappedErrorsKeepTheirCause() throws {
        do {
            try InstanceConfig.validate("limits.memory", "lots", writer: .user)
            Issue.record("limits.memory=lots was accepted")
        } catch let error as SysboxError {
            #expect(error.code == .invalidArgument)
            #expect(error.cause != nil, "the value error behind it is kept")
        }
        // 16EiB itself does not fit: the message must not say "at most 16EiB" (issue 14).
        #expect(
            message { try InstanceConfig.validate("limits.memory", "16EiB", writer: .user) }
                == "invalid value \"16EiB\" for limits.memory: size 16EiB is out of range (sizes must be under 16EiB)")
        let inner = SysboxError(.io, "disk full")
        let outer = inner.wrapped("cannot start c1: disk full")
        #expect(outer.code == .io && outer.message == "cannot start c1: disk full")
        #expect((outer.cause as? SysboxError)?.message == "disk full")
    }
}
