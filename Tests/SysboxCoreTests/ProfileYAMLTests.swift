import Foundation
import Testing
@testable import SysboxCore

/// The repository root (this file is Tests/SysboxCoreTests/ProfileYAMLTests.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

@Suite struct ProfileYAMLTests {
    @Test func shippedProfilesParse() throws {
        let dir = repositoryRoot + "/Profiles"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }
        #expect(files.contains("default.yaml"))
        #expect(files.count >= 3)
        for file in files {
            let text = try String(contentsOfFile: dir + "/" + file, encoding: .utf8)
            _ = try ProfileYAML.parse(text, file: file)
        }
        let def = try ProfileYAML.parse(try String(contentsOfFile: dir + "/default.yaml", encoding: .utf8), file: "default.yaml")
        #expect(def.layer.devices["root"] == ["type": "disk", "path": "/"])
        #expect(def.layer.devices["eth0"] == ["type": "nic", "name": "eth0", "network": "sysboxbr0"])
    }

    @Test func goodFileWithEveryShape() throws {
        let doc = try ProfileYAML.parse(
            """
            # comment
            description: "web: small"
            config:
              limits.memory: 512MiB
              limits.cpu: 2
              security.nesting: true
              environment.GREETING: 'hello world'
              user.empty: ""
            devices:
              data:
                type: disk
                source: /srv/data
                path: /data
                readonly: yes
            """, file: "p.yaml")
        #expect(doc.description == "web: small")
        #expect(
            doc.layer.config == [
                "limits.memory": "512MiB", "limits.cpu": "2", "security.nesting": "true",
                "environment.GREETING": "hello world", "user.empty": ""
            ])
        #expect(doc.layer.devices["data"]?["readonly"] == "yes")
    }

    @Test func emptyFileAndEmptySections() throws {
        #expect(try ProfileYAML.parse("", file: "e") == ProfileDocument())
        #expect(try ProfileYAML.parse("config:\ndevices:\n", file: "e") == ProfileDocument())
        #expect(try ProfileYAML.parse("description: x\nconfig: {}\ndevices: {}\n", file: "e") == ProfileDocument(description: "x"))
    }

    @Test(arguments: [
        ("description: x\nconfg:\n  limits.cpu: 1\n", "bad.yaml:2: unknown top-level key confg; did you mean config?"),
        ("config:\n  limits.cpu: 1\n  limits.memroy: 1GiB\n", "bad.yaml:3: unknown config key limits.memroy; did you mean limits.memory?"),
        ("config:\n  limits.memory: lots\n", "bad.yaml:2: invalid value \"lots\" for limits.memory"),
        ("config:\n  - limits.cpu\n", "bad.yaml:2: config must be a mapping"),
        ("config: 5\n", "bad.yaml:1: config must be a mapping"),
        ("config:\n  limits.cpu:\n    nested: 1\n", "bad.yaml:3: config key limits.cpu must be a single value"),
        ("config:\n  limits.cpu:\n", "bad.yaml:2: config key limits.cpu has no value"),
        ("config:\n  limits.cpu: 1\n  limits.cpu: 2\n", "bad.yaml:3: duplicate key limits.cpu (first at line 2)"),
        ("description: a\ndescription: b\n", "bad.yaml:2: duplicate key description (first at line 1)"),
        ("devices:\n  eth0:\n    type: nick\n    network: n\n", "bad.yaml:3: device eth0 has unknown type \"nick\"; did you mean nic?"),
        ("devices:\n  eth0:\n    network: n\n", "bad.yaml:2: device eth0 has no type"),
        ("devices:\n  eth0:\n    type: nic\n    network: n\n    hwadr: 00:16:3e:00:00:01\n", "bad.yaml:5: device eth0 (nic) has unknown key hwadr; did you mean hwaddr?"),
        ("devices:\n  root:\n    type: disk\n    path: /\n  r2:\n    type: disk\n    path: /\n", "bad.yaml:5: devices r2 and root are both root disks"),
        ("devices:\n  eth0: nic\n", "bad.yaml:2: device eth0 must be a mapping"),
        ("devices:\n  bad/name:\n    type: none\n", "bad.yaml:2: invalid device name"),
        ("- a\n- b\n", "bad.yaml:1: a profile is a mapping"),
        ("name: small\nconfig: {}\n", "bad.yaml:1: name is not part of a profile file"),
        ("config:\n  limits.cpu: [1\n", "bad.yaml:3: YAML syntax error"),
        ("config: &a\n  limits.cpu: 1\ndevices: *a\n", "bad.yaml:1: anchors and aliases are not supported"),
        ("config:\n  volatile.uuid: x\n", "bad.yaml:2: volatile.uuid is read-only"),
        ("description: [a, b]\n", "bad.yaml:1: description must be a single value, not a list")
    ])
    func badFiles(_ text: String, _ expected: String) {
        do {
            _ = try ProfileYAML.parse(text, file: "bad.yaml")
            Issue.record("accepted:\n\(text)")
        } catch let error as SysboxError {
            #expect(error.message.hasPrefix(expected), "got: \(error.message)")
            #expect(!error.message.contains("\n"), "not one line: \(error.message)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func renderRoundTrips() throws {
        let doc = ProfileDocument(
            description: "",
            config: [
                "limits.cpu": "2", "security.nesting": "true", "user.note": "a: b # c", "environment.EMPTY": "", "user.n": "0755",
                "user.multi": "line1\nline2", "user.yes": "yes", "user.null": "null"
            ],
            devices: ["root": ["type": "disk", "path": "/"], "eth0": ["type": "nic", "network": "sysboxbr0"]])
        let text = ProfileYAML.render(doc)
        #expect(try ProfileYAML.parse(text, file: "r") == doc)
        #expect(text.hasPrefix("description: \"\"\nconfig:\n"))
        #expect(ProfileYAML.render(ProfileDocument()) == "description: \"\"\nconfig: {}\ndevices: {}\n")
    }
}

@Suite struct AnchorScanTests {
    @Test func findsAnchorsAndAliasesOnly() {
        #expect(ProfileYAML.anchorOrAliasLine("a: 1\nb: *x\n") == 2)
        #expect(ProfileYAML.anchorOrAliasLine("a: &x\n  b: 1\n") == 1)
        #expect(ProfileYAML.anchorOrAliasLine("- *x\n") == 1)
        #expect(ProfileYAML.anchorOrAliasLine("a: \"*x\"\nb: '&y'\nc: 2*3\nd: a&b # *c\n") == nil)
        #expect(ProfileYAML.anchorOrAliasLine("snapshots.schedule: 0 3 * * *\n") == nil)
    }
}
