import Foundation
import GRDB
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HelpTests {
    @Test func rootAndVerbHelp() throws {
        let s = try Sandbox()
        let help = try s.ok(["--help"])
        for verb in ["launch", "create", "delete", "list", "info", "config", "profile"] {
            #expect(help.contains(verb), "sysbox --help lacks \(verb)")
        }
        #expect(try s.ok(["--version"]).hasPrefix("0."))
        let verbs: [[String]] = [
            ["launch"], ["create"], ["delete"], ["list"], ["info"], ["config"], ["config", "show"], ["config", "get"],
            ["config", "set"], ["config", "unset"], ["config", "device"], ["config", "device", "add"],
            ["config", "device", "override"], ["profile"], ["profile", "list"], ["profile", "show"],
            ["profile", "create"], ["profile", "edit"], ["profile", "delete"], ["profile", "copy"],
            ["profile", "rename"], ["profile", "get"], ["profile", "set"], ["profile", "unset"],
            ["profile", "add"], ["profile", "remove"], ["profile", "assign"], ["profile", "device", "add"]
        ]
        for verb in verbs {
            let text = try s.ok(["help"] + verb)
            #expect(text.contains("Example"), "sysbox \(verb.joined(separator: " ")) --help has no example")
        }
        // Help needs no state directory.
        #expect(!FileManager.default.fileExists(atPath: s.stateDir))
        // The usage names the command users run, not the Swift CLI behind the front.
        let usage = try s.run(["frobnicate"])
        #expect(usage.status != 0 && usage.stderr.contains("sysbox") && !usage.stderr.contains("sysbox-manager"), "\(usage.stderr)")
    }

    /// `sysbox` is a small C front that execs sysbox-manager from its own directory, else from
    /// ../libexec/sysbox: without it, one clear line and exit 1.
    @Test func frontWithoutTheManager() throws {
        let s = try Sandbox()
        let bin = s.root + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: s.binary, toPath: bin + "/sysbox")
        let r = try runProcess(bin + "/sysbox", ["list"], env: ["SYSBOX_DIR": s.stateDir])
        #expect(r.status == 1)
        #expect(r.stderr == "Error: sysbox-manager not found in \(bin) nor in \(s.root)/libexec/sysbox; reinstall sysbox (scripts/install)\n", "\(r.stderr)")
        // Installed layout: PREFIX/bin/sysbox and PREFIX/libexec/sysbox/sysbox-manager.
        try FileManager.default.createDirectory(atPath: s.root + "/libexec/sysbox", withIntermediateDirectories: true)
        let manager = URL(fileURLWithPath: s.binary).deletingLastPathComponent().appendingPathComponent("sysbox-manager").path
        try FileManager.default.createSymbolicLink(atPath: s.root + "/libexec/sysbox/sysbox-manager", withDestinationPath: manager)
        let help = try runProcess(bin + "/sysbox", ["--version"], env: ["SYSBOX_DIR": s.stateDir])
        #expect(help.status == 0 && help.stdout.hasPrefix("0."), "\(help.stderr)")
    }

    /// Progress of an image build: on a terminal one line updated in place; otherwise only the final line.
    @Test func progressLines() throws {
        let s = try Sandbox.withoutNIC()
        let plain = try s.run(["image", "build", "busybox"])
        #expect(plain.status == 0 && plain.stderr.hasPrefix("built image busybox (") && plain.stderr.split(separator: "\n").count == 1, "\(plain.stderr)")
        let binDir = URL(fileURLWithPath: s.binary).deletingLastPathComponent().path
        let tty = try runProcess(
            "/usr/bin/script", ["-qec", "sysbox image build busybox", "/dev/null"], env: ["SYSBOX_DIR": s.stateDir, "PATH": binDir + ":/usr/bin:/bin"])
        #expect(tty.status == 0, "\(tty.stdout)")
        #expect(tty.stdout.contains("\r\u{1b}[Kbuilding image busybox: copying ") && tty.stdout.contains("\r\u{1b}[Kbuilt image busybox ("), "\(tty.stdout)")
        // Two lines in all: the progress's final one and the command's own result ("Image busybox built: …").
        #expect(tty.stdout.filter { $0 == "\n" || $0 == "\r\n" }.count == 2 && tty.stdout.contains("Image busybox built: "), "\(tty.stdout.debugDescription)")
        // Copies (snapshot, copy): bytes copied of the total on a terminal, then the line is cleared;
        // nothing off a terminal.
        try s.ok(["create", "busybox", "c1"])
        let blob = try s.write("blob", String(repeating: "x", count: 4 << 20))
        try s.ok(["file", "push", blob, "c1/root/"])
        let quiet = try s.run(["snapshot", "create", "c1", "s0"])
        #expect(quiet.status == 0 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        let snap = try runProcess(
            "/usr/bin/script", ["-qec", "sysbox snapshot create c1 s1", "/dev/null"], env: ["SYSBOX_DIR": s.stateDir, "PATH": binDir + ":/usr/bin:/bin"])
        #expect(snap.status == 0, "\(snap.stdout)")
        #expect(
            snap.stdout.range(of: #"\r\x{1b}\[Kcopying c1's files into snapshot s1: [0-9]+% \([0-9.]+[KMG]?i?B of 4\.[0-9]MiB\)"#, options: .regularExpression) != nil,
            "\(snap.stdout.debugDescription)")
        #expect(snap.stdout.contains("\r\u{1b}[K\r\u{1b}[K") || snap.stdout.contains("\r\u{1b}[KSnapshot s1"), "\(snap.stdout.debugDescription)")
        try s.ok(["delete", "c1"])
    }

    /// Manual pages (scripts/manpages, which scripts/install runs): sysbox(1) and a page per verb from
    /// the command definitions, none for the internal commands; `man` renders them.
    @Test func manualPages() throws {
        let s = try Sandbox()
        let bin = URL(fileURLWithPath: s.binary).deletingLastPathComponent().path
        let tool = bin + "/generate-manual"
        try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: scripts/test builds it (swift build --product generate-manual)")
        let out = s.root + "/man1"
        let r = try runProcess(
            "/bin/bash", ["\(repositoryRoot)/scripts/manpages", out, bin + "/sysbox-manager"], env: ["SYSBOX_GENERATE_MANUAL": tool, "PATH": "/opt/swift/usr/bin:/usr/bin:/bin"])
        #expect(r.status == 0 && r.stdout.hasPrefix("Wrote "), "\(r.stdout) \(r.stderr)")
        let pages = try FileManager.default.contentsOfDirectory(atPath: out)
        for page in ["sysbox.1", "sysbox.start.1", "sysbox.pause.1", "sysbox.file.create.1", "sysbox.network.attach.1", "sysbox.snapshot.restore.1"] {
            #expect(pages.contains(page), "\(page) missing from \(pages.sorted())")
        }
        #expect(!pages.contains { $0.contains("__") })
        let root = try String(contentsOfFile: out + "/sysbox.1", encoding: .utf8)
        #expect(root.contains(".Sh NAME") && root.contains(".Xr sysbox.start 1") && !root.contains("__monitor"))
        let rendered = try runProcess("/usr/bin/man", ["-l", out + "/sysbox.start.1"], env: ["MANPAGER": "cat", "PAGER": "cat", "COLUMNS": "100"])
        #expect(rendered.status == 0 && rendered.stdout.contains("sysbox start") && rendered.stdout.contains("--all"), "\(rendered.stderr)")
    }

    /// Shell completion: the bash script sysbox writes, sourced in bash and asked as bash asks it,
    /// offers verbs, and the names of this state directory's containers, snapshots, profiles and images;
    /// with no state directory it offers none and creates nothing. zsh and fish scripts are written too.
    @Test func shellCompletion() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "web1"])
        try s.ok(["create", "busybox", "db2"])
        try s.ok(["snapshot", "create", "web1", "snapA"])
        let bin = URL(fileURLWithPath: s.binary).deletingLastPathComponent().path
        func complete(_ line: String, dir: String? = nil) throws -> String {
            let script = """
                source <(sysbox --generate-completion-script bash)
                COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; read -ra COMP_WORDS <<< "$1"
                [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
                _sysbox sysbox "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
                printf '%s\\n' "${COMPREPLY[@]}" | sort | tr '\\n' ' '
                """
            let r = try runProcess("/bin/bash", ["-c", script, "bash", line], env: ["SYSBOX_DIR": dir ?? s.stateDir, "PATH": bin + ":/usr/bin:/bin"])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout
        }
        #expect(try complete("sysbox sta") == "start ")
        #expect(try complete("sysbox start ") == "db2 web1 ")
        #expect(try complete("sysbox exec w") == "web1 ")
        #expect(try complete("sysbox snapshot restore web1 ") == "snapA ")
        #expect(try complete("sysbox profile edit de") == "default ")
        #expect(try complete("sysbox file pull d") == "db2/ ")
        #expect(try complete("sysbox launch b") == "busybox ")
        let missing = s.root + "/no-state"
        #expect(try complete("sysbox start ", dir: missing) == " ")
        #expect(!FileManager.default.fileExists(atPath: missing))
        for shell in ["zsh", "fish"] {
            #expect(try s.ok(["--generate-completion-script", shell]).contains("sysbox"))
        }
        try s.ok(["delete", "web1", "db2"])
    }
}

@Suite struct ProfileCLITests {
    @Test func createShowEditDelete() throws {
        let s = try Sandbox()
        // Shipped profiles are there on first use.
        let list = try s.ok(["profile", "list", "--format", "json"])
        let profiles = try #require(try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [[String: Any]])
        #expect(profiles.contains { $0["name"] as? String == "default" })

        let file = try s.write(
            "web.yaml",
            """
            description: Web servers
            config:
              limits.memory: 512MiB
              environment.APP_ENV: production
            devices:
              data:
                type: disk
                source: /srv/web
                path: /var/www
            """)
        #expect(try s.ok(["profile", "create", "web", "--file", file]) == "Profile web created\n")
        let shown = try s.ok(["profile", "show", "web"])
        #expect(
            shown == """
                description: Web servers
                config:
                  environment.APP_ENV: production
                  limits.memory: 512MiB
                devices:
                  data:
                    path: /var/www
                    source: /srv/web
                    type: disk

                """)
        // show | create round-trips through stdin.
        try s.ok(["profile", "create", "web2"], stdin: shown)
        #expect(try s.ok(["profile", "show", "web2"]) == shown)

        // edit from stdin replaces the whole profile.
        try s.ok(["profile", "edit", "web"], stdin: "description: Web v2\nconfig:\n  limits.memory: 1GiB\n")
        #expect(try s.ok(["profile", "show", "web"]) == "description: Web v2\nconfig:\n  limits.memory: 1GiB\ndevices: {}\n")

        try s.ok(["profile", "set", "web", "limits.cpu=2", "user.tier=front"])
        try s.ok(["profile", "set", "web", "limits.processes", "300"])
        #expect(try s.ok(["profile", "get", "web", "limits.cpu"]) == "2\n")
        #expect(try s.ok(["profile", "get", "web", "limits.processes"]) == "300\n")
        try s.ok(["profile", "unset", "web", "limits.cpu"])
        #expect(try s.ok(["profile", "get", "web", "limits.cpu"]) == "\n")

        try s.ok(["profile", "device", "add", "web", "logs", "disk", "source=/var/log", "path=/var/log/app"])
        #expect(try s.ok(["profile", "device", "list", "web"]) == "logs\n")
        try s.ok(["profile", "copy", "web", "web3"])
        try s.ok(["profile", "rename", "web3", "web4"])
        #expect(try s.ok(["profile", "show", "web4"]) == s.ok(["profile", "show", "web"]))
        for name in ["web", "web2", "web4"] { try s.ok(["profile", "delete", name]) }
        let names = try s.ok(["profile", "list", "--format", "csv,noheader"]).split(separator: "\n").map { $0.split(separator: ",")[0] }
        #expect(!names.contains("web") && names.contains("default"))
    }

    @Test func editWithEditorOnATerminal() throws {
        let s = try Sandbox()
        try s.ok(["profile", "create", "p"], stdin: "config:\n  limits.memory: 512MiB\n")
        let editor = try s.write("editor.sh", "#!/bin/sh\nsed -i 's/512MiB/768MiB/' \"$1\"\n")
        chmod(editor, 0o755)
        // script(1) gives the command a terminal, so edit takes the $EDITOR path.
        let r = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) profile edit p", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir, "EDITOR": editor, "VISUAL": ""])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        #expect(try s.ok(["profile", "get", "p", "limits.memory"]) == "768MiB\n")
    }

    @Test func inUseAndDefaultAreProtected() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "c1", "-p", "default", "-p", "small"])
        try s.ok(["create", "busybox", "c2", "-p", "default", "-p", "small"])
        let before = try s.dump()
        try s.fails(["profile", "delete", "small"], "profile small is used by 2 containers: c1, c2")
        try s.fails(["profile", "delete", "default"], "default profile cannot be deleted")
        try s.fails(["profile", "rename", "default", "base"], "default profile cannot be renamed")
        try s.fails(["profile", "edit", "default"], "would break container c1", stdin: "description: empty\n")
        #expect(try s.dump() == before)
        try s.ok(["profile", "remove", "c1", "small"])
        try s.ok(["profile", "assign", "c2", "default"])
        try s.ok(["profile", "delete", "small"])
    }
}

@Suite struct ConfigCLITests {
    @Test func containerConfigAndDevices() throws {
        let s = try Sandbox()
        #expect(try s.ok(["create", "busybox", "web1"]) == "Creating web1\n")
        // A refused launch or create says nothing on stdout (issue 14: "Creating Bad_Name", then the error).
        for args in [
            ["launch", "busybox", "Bad_Name"], ["launch", "busybox", "web1"], ["create", "busybox", "x1", "-c", "limits.memroy=1GiB"],
            ["launch", "busybox", "x1", "-p", "nosuch"]
        ] {
            let r = try s.run(args)
            #expect(r.status != 0 && r.stdout == "" && r.stderr.hasPrefix("Error: "), "\(args): \(r.stdout)\(r.stderr)")
        }
        try s.ok(["config", "set", "web1", "limits.memory=1GiB", "limits.cpu=0-1"])
        try s.ok(["config", "set", "web1", "environment.TZ", "UTC"])
        #expect(try s.ok(["config", "get", "web1", "limits.memory"]) == "1GiB\n")
        #expect(try s.ok(["config", "get", "web1", "limits.processes"]) == "\n")
        let show = try s.ok(["config", "show", "web1"])
        #expect(show.contains("limits.cpu: 0-1") && show.contains("environment.TZ: UTC") && show.contains("- default"))
        #expect(!show.contains("eth0"))  // own devices only
        let expanded = try s.ok(["config", "show", "web1", "--expanded"])
        #expect(expanded.contains("network: sysboxbr0") && expanded.contains("path: /"))
        try s.ok(["config", "unset", "web1", "limits.cpu"])
        #expect(try s.ok(["config", "get", "web1", "limits.cpu"]) == "\n")

        try s.ok(["config", "device", "add", "web1", "data", "disk", "source=/var/log", "path=/data", "readonly=true"])
        #expect(try s.ok(["config", "device", "list", "web1"]) == "data\n")
        #expect(try s.ok(["config", "device", "show", "web1"]) == "data:\n  path: /data\n  readonly: \"true\"\n  source: /var/log\n  type: disk\n")
        #expect(try s.ok(["config", "device", "get", "web1", "data", "path"]) == "/data\n")
        try s.ok(["config", "device", "set", "web1", "data", "readonly=false"])
        try s.ok(["config", "device", "override", "web1", "eth0", "hwaddr=00:16:3e:aa:bb:cc"])
        #expect(try s.ok(["config", "show", "web1", "-e"]).contains("hwaddr: 00:16:3e:aa:bb:cc"))
        try s.ok(["config", "device", "remove", "web1", "data", "eth0"])
        #expect(try s.ok(["config", "device", "list", "web1"]) == "")
        try s.ok(["delete", "web1"])
        #expect(try s.ok(["list", "--format", "json"]) == "[]\n")
    }

    /// `config edit`: the container's own description, config and devices, from stdin or in $EDITOR,
    /// checked whole as `profile edit` checks a profile (issue 14: "2 unexpected arguments").
    @Test func configEdit() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "web1", "-c", "limits.memory=512MiB"])
        let uuid = try s.ok(["config", "get", "web1", "volatile.uuid"])
        try s.ok(
            ["config", "edit", "web1"],
            stdin: "description: web server\nconfig:\n  limits.processes: 500\ndevices:\n  data:\n    type: disk\n    source: \(s.root)\n    path: /mnt\n")
        #expect(try s.ok(["config", "get", "web1", "limits.memory"]) == "\n")
        #expect(try s.ok(["config", "get", "web1", "limits.processes"]) == "500\n")
        #expect(try s.ok(["config", "device", "get", "web1", "data", "path"]) == "/mnt\n")
        #expect(try s.ok(["config", "show", "web1"]).contains("description: web server"))
        // sysbox's own keys are neither shown nor lost.
        #expect(try s.ok(["config", "get", "web1", "volatile.uuid"]) == uuid)
        // Checked whole: any error refuses the whole document, naming its line.
        let before = try s.dump()
        try s.fails(["config", "edit", "web1"], "<stdin>:2: unknown config key limits.memroy; did you mean limits.memory?", stdin: "config:\n  limits.memroy: 1GiB\n")
        try s.fails(
            ["config", "edit", "web1"], "source \(s.root)/missing does not exist on this host",
            stdin: "config:\n  limits.cpu: 1\ndevices:\n  d:\n    type: disk\n    source: \(s.root)/missing\n    path: /d\n")
        try s.fails(["config", "edit", "web1"], "volatile", stdin: "config:\n  volatile.uuid: x\n")
        try s.fails(
            ["config", "edit", "web1"], "<stdin>:1: profiles is not part of this file; change a container's profile list with: sysbox profile assign",
            stdin: "profiles: [default]\n")
        try s.fails(["config", "edit", "web1"], "<stdin>:1: name is not part of a container file", stdin: "name: web2\n")
        try s.fails(["config", "edit", "web1"], "<stdin>: empty input; nothing changed", stdin: "\n")
        try s.fails(["config", "edit", "nosuch"], "container nosuch not found", stdin: "config: {}\n")
        try s.fails(
            ["config", "edit", "web1"], "device eth1: network nosuchnet does not exist",
            stdin: "devices:\n  eth1:\n    type: nic\n    network: nosuchnet\n")
        #expect(try s.dump() == before)
        // On a terminal, in $EDITOR: the document without volatile keys; the edit is applied.
        let saw = s.root + "/saw.yaml"
        let editor = try s.write("editor.sh", "#!/bin/sh\ncp \"$1\" \(saw)\nsed -i 's/web server/edited/' \"$1\"\n")
        chmod(editor, 0o755)
        let r = try runProcess(
            "/usr/bin/script", ["-qec", "\(s.binary) config edit web1", "/dev/null"],
            env: ["SYSBOX_DIR": s.stateDir, "EDITOR": editor, "VISUAL": "", "SHELL": "/bin/sh"])
        #expect(r.status == 0, "\(r.stdout)")
        let shown = try String(contentsOfFile: saw, encoding: .utf8)
        #expect(shown.contains("description: web server") && shown.contains("limits.processes:") && !shown.contains("volatile"), "\(shown)")
        #expect(try s.ok(["config", "show", "web1"]).contains("description: edited"))
        try s.ok(["delete", "web1"])
    }

    @Test func listFormats() throws {
        let s = try Sandbox()
        try s.ok(["create", "busybox", "web1", "-c", "user.role=web"])
        try s.ok(["create", "busybox", "db1", "--description", "database, main", "-p", "default", "-p", "small"])
        try s.ok(["create", "busybox", "a-container-with-quite-a-long-name-to-test-the-width"])
        let json = try s.ok(["list", "--format", "json"])
        let array = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(array.map { $0["name"] as? String } == ["a-container-with-quite-a-long-name-to-test-the-width", "db1", "web1"])
        let db = try #require(array.first { $0["name"] as? String == "db1" })
        #expect(db["status"] as? String == "Stopped")
        #expect(db["ipv4"] as? [String] == [])
        #expect(db["pid"] is NSNull)
        #expect(db["image"] as? String == "busybox")
        #expect(db["profiles"] as? [String] == ["default", "small"])
        #expect(db["snapshots"] as? Int == 0)

        let yaml = try s.ok(["list", "--format", "yaml"])
        #expect(yaml.contains("name: db1") && yaml.contains("pid: null") && yaml.contains("status: Stopped"))

        let csv = try s.ok(["list", "--format", "csv"])
        #expect(csv.hasPrefix("NAME,STATUS,IPV4,IMAGE,SNAPSHOTS\n"))
        #expect(csv.contains("db1,STOPPED,,busybox,0\n"))

        let table = try s.ok(["list"], env: ["COLUMNS": "80"])
        let lines = table.split(separator: "\n")
        #expect(lines.count == 9)
        #expect(lines.allSatisfy { $0.count <= 80 }, "\(table)")
        #expect(Set(lines.map(\.count)).count == 1, "columns do not align:\n\(table)")
        #expect(lines[1].hasPrefix("| NAME"))

        #expect(try s.ok(["list", "web", "--format", "csv,noheader"]) == "web1,STOPPED,,busybox,0\n")
        #expect(try s.ok(["list", "user.role=web", "--format", "csv,noheader"]).hasPrefix("web1,"))
        #expect(try s.ok(["list", "profile=small", "--format", "csv,noheader"]).hasPrefix("db1,"))
        #expect(try s.ok(["ls", "status=running", "--format", "csv,noheader"]) == "")
        let info = try s.ok(["info", "db1"])
        #expect(info.contains("Name: db1") && info.contains("Status: STOPPED") && info.contains("Profiles: default, small"))
    }
}
