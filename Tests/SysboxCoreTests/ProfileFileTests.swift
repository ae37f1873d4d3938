import Foundation
import Testing
@testable import SysboxCore

/// Device-set errors in a profile file point at the device that causes them.
@Suite struct DeviceSetLineTests {
    @Test(arguments: [
        ("description: x\ndevices:\n  root:\n    type: disk\n    path: /\n  r2:\n    type: disk\n    path: /\n", "p.yaml:6: devices r2 and root are both root disks"),
        ("devices:\n  eth0:\n    type: nic\n    network: n\n  lan:\n    type: nic\n    network: n\n    name: eth0\n", "p.yaml:5: devices eth0 and lan both create interface eth0"),
        ("devices:\n  a:\n    type: disk\n    source: /x\n    path: /d\n  b:\n    type: disk\n    source: /y\n    path: /d/\n", "p.yaml:6: devices a and b are both mounted at /d")
    ])
    func pointsAtTheOffendingDevice(_ text: String, _ expected: String) {
        #expect(message { _ = try ProfileYAML.parse(text, file: "p.yaml") }.hasPrefix(expected))
    }
}

/// An empty document is not an empty profile.
@Suite struct EmptyDocumentTests {
    @Test func emptyMeansNoDocument() {
        for empty in ["", "\n\n", "# only a comment\n", "---\n", "  \n# x\n"] { #expect(ProfileYAML.isEmptyDocument(empty), "\(empty)") }
        for full in ["config: {}\n", "description: \"\"\n", "{}\n", "config: [\n"] { #expect(!ProfileYAML.isEmptyDocument(full), "\(full)") }
    }
}
