import Foundation
import GRDB
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Writes straight into a sandbox's database: data an older sysbox (or another tool) may have left,
/// which the current validation would refuse.
private func sql(_ s: Sandbox, _ statement: String, _ arguments: StatementArguments = []) throws {
    let queue = try DatabaseQueue(path: s.dbPath)
    defer { try? queue.close() }
    try queue.write { db in try db.execute(sql: statement, arguments: arguments) }
}

/// Whether `text` has a control character other than a line break.
private func hasRawControl(_ text: String) -> Bool {
    text.unicodeScalars.contains { $0 != "\n" && ($0.properties.generalCategory == .control || $0 == "\u{2028}") }
}

@Suite struct FoundationFixesCLITests {
    /// 1. `profile delete a nosuch` deletes nothing.
    @Test func profileDeleteIsAllOrNothing() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "a"])
        try s.ok(["profile", "create", "b"])
        try s.ok(["create", "busybox", "c1", "-p", "default", "-p", "small"])
        let before = try s.dump()
        try s.fails(["profile", "delete", "a", "nosuch"], "profile nosuch not found")
        try s.fails(["profile", "delete", "a", "a"], "profile a is given twice")
        try s.fails(["profile", "delete", "a", "default"], "default profile cannot be deleted")
        try s.fails(["profile", "delete", "a", "small"], "profile small is used by 1 container: c1; remove it from c1 first: sysbox profile remove c1 small")
        #expect(try s.dump() == before)
        #expect(try s.ok(["profile", "delete", "a", "b"]) == "Profile a deleted\nProfile b deleted\n")
    }

    /// 2. Schedules with commas inside fields.
    @Test func scheduleCommas() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=0,30 * * * *"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=0 3 * * 1,5"])
        try s.ok(["config", "set", "c1", "snapshots.schedule=@daily, @hourly"])
        try s.fails(["config", "set", "c1", "snapshots.schedule= @daily"], "remove the spaces around it")
        try s.fails(["config", "set", "c1", "snapshots.schedule=@daily,@hourly"], "separate entries with ', '")
        #expect(try s.ok(["config", "get", "c1", "snapshots.schedule"]) == "@daily, @hourly\n")
    }

    /// 3. Filters compare typed values and use defaults.
    @Test func typedListFilters() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "unset"])
        try s.ok(["create", "busybox", "off", "-c", "security.nesting=Off"])
        try s.ok(["create", "busybox", "zero", "-c", "security.nesting=0", "-c", "limits.processes=0500"])
        try s.ok(["create", "busybox", "on", "-c", "security.nesting=yes", "-c", "limits.memory=1024MiB"])
        func names(_ filter: String) throws -> [String] {
            try s.ok(["list", filter, "--format", "csv,noheader"]).split(separator: "\n").map { String($0.split(separator: ",")[0]) }
        }
        #expect(try names("security.nesting=false") == ["off", "unset", "zero"])
        #expect(try names("security.nesting=no") == ["off", "unset", "zero"])
        #expect(try names("security.nesting=TRUE") == ["on"])
        #expect(try names("limits.processes=500") == ["zero"])
        #expect(try names("limits.memory=1GiB") == ["on"])
        #expect(try names("limits.memory=") == ["off", "unset", "zero"])
        try s.fails(["list", "security.nesting=maybe"], "invalid filter value \"maybe\" for security.nesting: expected true or false")
        try s.fails(["list", "status=stoped"], "unknown status \"stoped\" in filter status; did you mean stopped? Use running")
        try s.fails(["list", "limits.memroy=1"], "unknown filter key limits.memroy; did you mean limits.memory? Use status")
    }

    /// 4. Values that only looked valid are refused.
    @Test func stricterValues() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        let before = try s.dump()
        try s.fails(["config", "set", "c1", "limits.processes=+5"], "invalid value \"+5\" for limits.processes: expected an integer from 1 to 4194304, written with digits only")
        try s.fails(["config", "set", "c1", "limits.processes=5000000"], "5000000 is out of range")
        try s.fails(["config", "set", "c1", "limits.memory=1048576.5"], "not a whole number of bytes")
        try s.fails(["config", "set", "c1", "limits.memory=1.0000001MiB"], "not a whole number of bytes")
        try s.fails(["config", "set", "c1", "snapshots.expiry=5000y"], "5000y is out of range; at most 1000y")
        try s.fails(["config", "set", "c1", "limits.cpu= 2"], "invalid value \" 2\" for limits.cpu: remove the spaces around it")
        try s.fails(["config", "set", "c1", "security.nesting", "true "], "remove the spaces around it")
        try s.fails(["config", "set", "c1", "security.nesting=maybe"], "expected true or false (also yes/no, on/off, 1/0)")
        try s.fails(["config", "device", "add", "c1", "data", "disk", "source=/srv ", "path=/data"], "remove the spaces around it")
        #expect(try s.dump() == before)
        try s.ok(["config", "set", "c1", "user.note=  padded  ", "limits.memory=1.5GiB"])
        #expect(try s.ok(["config", "get", "c1", "user.note"]) == "  padded  \n")
    }

    /// 5. Control characters in keys, paths and descriptions are refused; output never carries them raw.
    @Test func controlCharacters() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1"])
        let before = try s.dump()
        try s.fails(["config", "set", "c1", "user.a b=1"], "invalid config key \"user.a b\": it has a space at position 7")
        try s.fails(["config", "set", "c1", "user.\u{1b}[31m=1"], "invalid config key \"user.\\x1b[31m\"")
        try s.fails(["config", "set", "c1", "environment.A\nB=1"], "invalid config key \"environment.A\\x0aB\"")
        try s.fails(["config", "unset", "c1", "user.x\u{7}"], "invalid config key \"user.x\\x07\"")
        try s.fails(["config", "get", "c1", "user.x\u{7}"], "invalid config key \"user.x\\x07\"")
        try s.fails(["list", "user.\u{1b}=1"], "invalid config key \"user.\\x1b\"")
        try s.fails(["config", "device", "add", "c1", "data", "disk", "source=/srv/\u{1b}[2J", "path=/data"], "cannot contain control characters")
        try s.fails(["config", "device", "add", "c1", "data", "disk", "source=/srv", "path=/da\nta"], "cannot contain control characters")
        try s.fails(["profile", "create", "p", "--description", "two\nlines"], "invalid description for profile p: it contains the control character \\x0a at position 4")
        try s.fails(["profile", "create", "p"], "<stdin>:1: the description contains the control character \\x1b", stdin: "description: \"a\\e[31m\"\n")
        try s.fails(["profile", "edit", "small"], "<stdin>:2: the description contains the control character \\x09", stdin: "config: {}\ndescription: \"a\\tb\"\n")
        #expect(try s.dump() == before)

        // Text an older version stored: shown escaped by info and tables, exact in CSV and JSON.
        try sql(s, "UPDATE containers SET description = ? WHERE name = 'c1'", ["red\u{1b}[31m\u{7}"])
        try sql(s, "UPDATE profiles SET description = ? WHERE name = 'small'", ["first\nsecond, \"third\"\u{1b}[0m"])
        let info = try s.ok(["info", "c1"])
        #expect(!hasRawControl(info), "\(info)")
        #expect(info.contains("Description: red\\x1b[31m\\x07"))
        let table = try s.ok(["profile", "list"], env: ["COLUMNS": "200"])
        #expect(!hasRawControl(table), "\(table)")
        #expect(table.contains("| second, \"third\"\\x1b[0m"))
        let json = try s.ok(["profile", "list", "--format", "json"])
        #expect(!hasRawControl(json) && json.contains("\\u001b[0m"))
        let yaml = try s.ok(["profile", "list", "--format", "yaml"])
        #expect(!hasRawControl(yaml), "\(yaml)")
    }

    /// 6. CSV keeps a description whole: a line break stays a quoted line break.
    @Test func csvKeepsFreeText() throws {
        let s = try Sandbox()
        try s.ok(["profile", "list"])
        try sql(s, "UPDATE profiles SET description = ? WHERE name = 'small'", ["one\ntwo, three"])
        let csv = try s.ok(["profile", "list", "--format", "csv,noheader"])
        #expect(csv.contains("small,\"one\ntwo, three\",0\n"), "\(csv)")
        #expect(!csv.contains("one,two"))
    }

    /// 7. A name given twice says so.
    @Test func givenTwice() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "web1", "-c", "user.x=1"])
        try s.ok(["config", "device", "override", "web1", "eth0"])
        let before = try s.dump()
        try s.fails(["config", "unset", "web1", "user.x", "user.x"], "key user.x is given twice; list each key once")
        try s.fails(["config", "device", "remove", "web1", "eth0", "eth0"], "device eth0 is given twice; list each device once")
        try s.fails(["config", "set", "web1", "user.y=1", "user.y=2"], "key user.y is given twice")
        #expect(try s.dump() == before)
    }

    /// 8. Error wording.
    @Test func wording() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1", "-p", "default", "-p", "small"])
        let dir = s.root + "/adir"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let empty = try s.write("empty.yaml", "")
        let cases: [([String], String)] = [
            (["list", "--format", "jsn"], "unknown format \"jsn\"; did you mean json? Use table, json, yaml or csv"),
            (["profile", "list", "--format", "xml"], "unknown format \"xml\"; use table, json, yaml or csv"),
            (["config", "device", "add", "c1", "eth1", "nick", "network=x"], "unknown type \"nick\"; did you mean nic? Types: nic, disk, none"),
            (["config", "device", "add", "c1", "eth1", "nic", "netwrok=y"], "did you mean network? Known keys:"),
            (["profile", "delete", "small"], "remove it from c1 first: sysbox profile remove c1 small"),
            (["profile", "assign", "c1", "small"], "container c1: no root disk: a container needs a disk device with path / (the default profile has one)"),
            (["profile", "create", "p", "--file", dir], "cannot read \(dir): it is a directory; give --file a YAML file"),
            (["profile", "create", "p", "--file", empty], "\(empty) is empty; put a profile in it, or leave out --file to create an empty profile"),
            (["profile", "create", "p", "--file", s.root + "/missing.yaml"], "cannot read \(s.root)/missing.yaml: no such file"),
            (["config", "set", "c1", "boot.autostart=perhaps"], "expected true or false (also yes/no, on/off, 1/0)"),
            (["config", "set", "c1", "boot.autostart.priority=99999999999999999999"], "is out of range"),
            (["config", "set", "c1", "novalue"], "expected KEY=VALUE, got \"novalue\""),
            (["config", "device", "set", "c1", "nope", "a=b"], "device nope not found on container c1; sysbox config device list c1 shows its devices"),
        ]
        for (args, text) in cases {
            let stderr = try s.fails(args, text)
            #expect(!stderr.contains("?;"), "\(stderr)")
            #expect(!stderr.contains("NAME") && !stderr.contains("CONTAINER"), "placeholder left in: \(stderr)")
        }
    }

    /// 9. The editor's file lives in a private directory and is removed when sysbox is killed.
    @Test func editorTempFileIsPrivateAndRemovedOnSignals() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "p"], stdin: "config:\n  limits.memory: 512MiB\n")
        let before = try s.dump()
        let record = s.root + "/editor-saw"
        let tmp = s.root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        for sig in ["TERM", "HUP"] {
            // The editor notes the file and the modes, changes the file, then kills sysbox (its ancestor).
            let editor = try s.write("editor-\(sig).sh", """
                #!/bin/sh
                echo "$1" > \(record)
                stat -c %a "$(dirname "$1")" "$1" >> \(record)
                sed -i 's/512MiB/768MiB/' "$1"
                p=$$
                while [ "$p" -gt 1 ]; do
                  if [ "$(cat /proc/$p/comm)" = sysbox-manager ]; then kill -\(sig) "$p"; break; fi
                  p=$(awk '{print $4}' /proc/$p/stat)
                done
                sleep 0.2
                exit 0

                """)
            chmod(editor, 0o755)
            let r = try runProcess("/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
                                   env: ["SYSBOX_DIR": s.stateDir, "EDITOR": editor, "VISUAL": "", "TMPDIR": tmp, "SHELL": "/bin/sh"])
            #expect(r.status != 0, "sysbox was not stopped by SIG\(sig): \(r.stdout)")
            let saw = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(saw.count == 3, "\(saw)")
            let path = saw.first ?? ""
            #expect(path.hasPrefix(tmp + "/sysbox-edit-") && path.hasSuffix("/edit.yaml"), "\(path)")
            #expect(saw.dropFirst().map { $0 } == ["700", "600"], "directory and file modes: \(saw)")
            #expect(!FileManager.default.fileExists(atPath: path), "SIG\(sig) left \(path)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [], "left in TMPDIR after SIG\(sig)")
            #expect(try s.dump() == before)
        }
    }

    /// 9. After a normal edit nothing is left behind either.
    @Test func editorTempFileIsRemovedAfterAnEdit() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "p"], stdin: "config:\n  limits.memory: 512MiB\n")
        let tmp = s.root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let editor = try s.write("editor.sh", "#!/bin/sh\nsed -i 's/512MiB/768MiB/' \"$1\"\n")
        chmod(editor, 0o755)
        let r = try runProcess("/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
                               env: ["SYSBOX_DIR": s.stateDir, "EDITOR": editor, "VISUAL": "", "TMPDIR": tmp, "SHELL": "/bin/sh"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(try s.ok(["profile", "get", "p", "limits.memory"]) == "768MiB\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
        // Saving an empty file aborts.
        let blank = try s.write("blank.sh", "#!/bin/sh\n: > \"$1\"\n")
        chmod(blank, 0o755)
        let aborted = try runProcess("/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
                                     env: ["SYSBOX_DIR": s.stateDir, "EDITOR": blank, "VISUAL": "", "TMPDIR": tmp, "SHELL": "/bin/sh"])
        #expect(aborted.status != 0 && aborted.stdout.contains("the edited file is empty; nothing changed"), "\(aborted.stdout)")
        #expect(try s.ok(["profile", "get", "p", "limits.memory"]) == "768MiB\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
    }

    /// 10. A bad SYSBOX_LOG is a clear error.
    @Test func badLogLevel() throws {
        let s = try Sandbox()
        try s.fails(["list"], "SYSBOX_LOG is \"bogus\", not a log level; use one of trace, debug, info, notice, warning, error, critical, or unset it",
                    env: ["SYSBOX_LOG": "bogus"])
        try s.fails(["list"], "(did you mean debug?)", env: ["SYSBOX_LOG": "debg"])
        try s.ok(["list"], env: ["SYSBOX_LOG": "error"])
        try s.ok(["list"], env: ["SYSBOX_LOG": ""])
    }

    /// 11. scripts/setup.sh reports installs on stderr, so `scripts/sysbox … > file` gets only sysbox's output.
    @Test func setupProgressGoesToStderr() throws {
        let s = try Sandbox()
        let bin = s.root + "/fakebin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for (name, body) in [("dpkg-query", "exit 1"), ("apt-get", "echo \"apt-get $*\""), ("id", "echo 0")] {
            let path = bin + "/" + name
            try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
        let r = try runProcess("/bin/bash", ["-c", "source \(repositoryRoot)/scripts/setup.sh && sysbox_install_packages"],
                               env: ["PATH": bin + ":/usr/bin:/bin"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "", "stdout: \(r.stdout)")
        #expect(r.stderr.contains("Installing Debian packages: libsqlite3-dev bsdutils"))
        #expect(r.stderr.contains("apt-get install"))
    }

    /// 12. Every example in the help of these commands works as written, in order, on a fresh state
    /// directory (where the examples' container web1 exists), and no discussion line is wrapped early.
    @Test(arguments: [
        [], ["list"], ["config"], ["config", "show"], ["config", "get"], ["config", "set"], ["config", "unset"],
        ["config", "device"], ["config", "device", "add"], ["config", "device", "remove"], ["config", "device", "list"],
        ["config", "device", "show"], ["config", "device", "get"], ["config", "device", "set"], ["config", "device", "unset"],
        ["config", "device", "override"], ["profile"], ["profile", "list"], ["profile", "show"], ["profile", "create"],
        ["profile", "edit"], ["profile", "delete"], ["profile", "copy"], ["profile", "rename"], ["profile", "get"],
        ["profile", "set"], ["profile", "unset"], ["profile", "add"], ["profile", "remove"], ["profile", "assign"],
        ["profile", "device"], ["profile", "device", "add"], ["profile", "device", "remove"], ["profile", "device", "list"],
        ["profile", "device", "show"], ["profile", "device", "get"], ["profile", "device", "set"], ["profile", "device", "unset"],
    ])
    func helpExamplesWork(_ verb: [String]) throws {
        let s = try Sandbox()
        let help = try s.ok(["help"] + verb)
        let discussion = help.components(separatedBy: "\nUSAGE:")[0].split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        var examples: [String] = []
        var paragraph: [Substring] = []
        for line in discussion + [""] {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("sysbox ") { examples.append(trimmed) }
            if line.isEmpty || line.hasPrefix(" ") {
                // ArgumentParser wraps at 80 columns: only a paragraph's last line may be short.
                for early in paragraph.dropLast() where early.count < 60 {
                    Issue.record("sysbox help \(verb.joined(separator: " ")): line broken early: \"\(early)\"")
                }
                paragraph = []
            } else {
                paragraph.append(line)
            }
        }
        #expect(!examples.isEmpty, "no examples in sysbox help \(verb.joined(separator: " "))")
        let binDir = URL(fileURLWithPath: s.binary).deletingLastPathComponent().path
        let env = ["SYSBOX_DIR": s.stateDir, "PATH": binDir + ":/usr/bin:/bin", "EDITOR": "true", "VISUAL": "", "SHELL": "/bin/sh"]
        if !examples.contains(where: { $0.hasPrefix("sysbox create busybox web1 ") }) {
            try s.ok(["create", "busybox", "web1"])
        }
        for example in examples {
            // script(1) gives each example a terminal, as a person typing it has (profile edit opens $EDITOR).
            let r = try runProcess("/usr/bin/script", ["-qec", example, "/dev/null"], env: env, cwd: s.root)
            #expect(r.status == 0, "sysbox help \(verb.joined(separator: " ")): \(example) failed: \(r.stdout)")
        }
    }

    /// 14. An empty document on standard input does not empty a profile.
    @Test func emptyEditInputIsRefused() throws {
        let s = try Sandbox()
        try s.ok(["profile", "list"])
        let before = try s.dump()
        for input in ["", "\n", "# nothing\n", "---\n"] {
            try s.fails(["profile", "edit", "small"], "<stdin>: empty input; nothing changed", stdin: input)
        }
        #expect(try s.dump() == before)
        try s.ok(["profile", "create", "p"], stdin: "config:\n  limits.cpu: 1\n")
        try s.ok(["profile", "edit", "p"], stdin: "config: {}\n")
        #expect(try s.ok(["profile", "show", "p"]) == "description: \"\"\nconfig: {}\ndevices: {}\n")
    }

    /// 13. Through the CLI too: a device clash in a file points at the device's line.
    @Test func deviceSetErrorLine() throws {
        let s = try Sandbox()
        let file = try s.write("two-roots.yaml", "description: two roots\ndevices:\n  root:\n    type: disk\n    path: /\n  other:\n    type: disk\n    path: /\n")
        try s.fails(["profile", "create", "p", "--file", file], "\(file):6: devices other and root are both root disks")
    }
}
