import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `profile edit` and profile files: the editor's temporary file, empty input, errors pointing at a line.
@Suite struct ProfileEditCLITests {
    /// The editor's file lives in a private directory and is removed when sysbox is killed.
    @Test func editorTempFileIsPrivateAndRemovedOnSignals() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "p"], stdin: "config:\n  limits.memory: 512MiB\n")
        let before = try s.dump()
        let record = s.root + "/editor-saw"
        let tmp = s.root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        for sig in ["TERM", "HUP"] {
            // The editor notes the file and the modes, changes the file, then kills sysbox (its ancestor).
            let editor = try s.write(
                "editor-\(sig).sh",
                """
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
            let r = try runProcess(
                "/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
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

    /// After a normal edit nothing is left behind either.
    @Test func editorTempFileIsRemovedAfterAnEdit() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "p"], stdin: "config:\n  limits.memory: 512MiB\n")
        let tmp = s.root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let editor = try s.write("editor.sh", "#!/bin/sh\nsed -i 's/512MiB/768MiB/' \"$1\"\n")
        chmod(editor, 0o755)
        let r = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir, "EDITOR": editor, "VISUAL": "", "TMPDIR": tmp, "SHELL": "/bin/sh"])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(try s.ok(["profile", "get", "p", "limits.memory"]) == "768MiB\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
        // Saving an empty file aborts.
        let blank = try s.write("blank.sh", "#!/bin/sh\n: > \"$1\"\n")
        chmod(blank, 0o755)
        let aborted = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir, "EDITOR": blank, "VISUAL": "", "TMPDIR": tmp, "SHELL": "/bin/sh"])
        #expect(aborted.status != 0 && aborted.stdout.contains("the edited file is empty; nothing changed"), "\(aborted.stdout)")
        #expect(try s.ok(["profile", "get", "p", "limits.memory"]) == "768MiB\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp) == [])
    }

    /// An empty document on standard input does not empty a profile.
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

    /// Through the CLI too: a device clash in a file points at the device's line.
    @Test func deviceSetErrorLine() throws {
        let s = try Sandbox()
        let file = try s.write("two-roots.yaml", "description: two roots\ndevices:\n  root:\n    type: disk\n    path: /\n  other:\n    type: disk\n    path: /\n")
        try s.fails(["profile", "create", "p", "--file", file], "\(file):6: devices other and root are both root disks")
    }
}
