import Foundation
import Testing

/// Issue 14, findings 12, 13, 14, 18 and 20: one rule per output format, plain addresses and LXD's
/// network state in machine formats, a list table that fits the terminal, warnings for keys that do
/// nothing yet, and `-d` device overrides at create and launch.
@Suite struct OutputRulesCLITests {
    /// Finding 13: tables are human (IEC sizes, `yyyy/MM/dd HH:mm UTC`), csv/json/yaml are machine
    /// (bytes, RFC 3339 UTC to the second), and json/yaml keys are always there (`null` when unset).
    @Test func oneRulePerFormat() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "c1"])
        try s.ok(["snapshot", "create", "c1", "s0"])
        let rfc3339 = #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/#
        // snapshot list: csv in bytes and RFC 3339; the table in IEC units.
        let csv = try s.ok(["snapshot", "list", "c1", "--format", "csv,noheader"])
        let fields = csv.trimmingCharacters(in: .newlines).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(fields.count == 4 && fields[0] == "s0", "\(csv)")
        #expect(fields[1].wholeMatch(of: rfc3339) != nil, "\(csv)")
        #expect(fields[2] == "" && UInt64(fields[3]) != nil, "\(csv)")
        let table = try s.ok(["snapshot", "list", "c1"])
        #expect(table.contains(" UTC ") && table.range(of: #"\d+(\.\d)?(B|KiB|MiB)"#, options: .regularExpression) != nil, "\(table)")
        // yaml: no fractions of a second; json and yaml: expires_at present and null.
        let yaml = try s.ok(["snapshot", "list", "c1", "--format", "yaml"])
        #expect(yaml.contains("expires_at: null") && !yaml.contains(#/T\d\d:\d\d:\d\d\.\d/#), "\(yaml)")
        let json = try s.ok(["snapshot", "list", "c1", "--format", "json"])
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(entries.first?["expires_at"] is NSNull, "\(json)")
        #expect((entries.first?["created_at"] as? String)?.wholeMatch(of: rfc3339) != nil, "\(json)")
        // storage info: its snapshots follow the same rule.
        let storage = try s.ok(["storage", "info", "--format", "json"])
        #expect(storage.contains(#""expires_at":null"#), "\(storage)")
        #expect(!(try s.ok(["storage", "info", "--format", "yaml"])).contains(#/T\d\d:\d\d:\d\d\.\d/#))
        // image list: one unit system (IEC) in the table, bytes and RFC 3339 in csv.
        let images = try s.ok(["image", "list"])
        #expect(images.contains("MiB |") && !images.contains("MB |"), "\(images)")
        let imageCSV = try s.ok(["image", "list", "--format", "csv,noheader"])
        let imageFields = imageCSV.trimmingCharacters(in: .newlines).split(separator: ",").map(String.init)
        #expect(imageFields.count == 5 && UInt64(imageFields[3]) != nil && imageFields[4].wholeMatch(of: rfc3339) != nil, "\(imageCSV)")
    }

    /// Finding 14: machine formats carry plain addresses and LXD's `state.network`; the table keeps
    /// "ADDRESS (DEVICE)". Finding 20: at COLUMNS=40 the table fits 40 columns, leaving out columns
    /// (SNAPSHOTS, IMAGE) rather than cutting the address.
    @Test func listNetworkStateAndNarrowTable() throws {
        let s = try Sandbox()
        let net = "t14n" + String(UUID().uuidString.prefix(6)).lowercased()
        try s.ok(["profile", "list"], env: ["SYSBOX_DEFAULT_NETWORK": net])
        try s.ok(["launch", "busybox", "t1"])
        let json = try s.ok(["list", "--format", "json"])
        let entry = try #require((try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])?.first)
        let ipv4 = try #require(entry["ipv4"] as? [String])
        #expect(ipv4.count == 1 && !ipv4[0].contains(" ") && ipv4[0].split(separator: ".").count == 4, "\(json)")
        let state = try #require(entry["state"] as? [String: Any], "\(json)")
        let eth0 = try #require((state["network"] as? [String: Any])?["eth0"] as? [String: Any], "\(json)")
        let addresses = try #require(eth0["addresses"] as? [[String: Any]])
        #expect(addresses.count == 1)
        #expect(addresses.first?["family"] as? String == "inet" && addresses.first?["address"] as? String == ipv4[0])
        #expect(addresses.first?["netmask"] as? String == "24" && addresses.first?["scope"] as? String == "global", "\(json)")
        #expect((eth0["hwaddr"] as? String)?.hasPrefix("00:16:3e:") == true && !((eth0["host_name"] as? String) ?? "").isEmpty, "\(json)")
        let counters = try #require(eth0["counters"] as? [String: Any])
        #expect(Set(counters.keys) == ["bytes_received", "bytes_sent", "packets_received", "packets_sent"], "\(json)")
        let yaml = try s.ok(["list", "--format", "yaml"])
        #expect(yaml.contains("- \(ipv4[0])\n") && yaml.contains("host_name:"), "\(yaml)")
        // The table keeps the device next to the address.
        #expect(try s.ok(["list"], env: ["COLUMNS": "200"]).contains("\(ipv4[0]) (eth0)"))
        // A narrow terminal: the table fits, the address stays whole.
        let narrow = try s.ok(["list"], env: ["COLUMNS": "40"])
        let lines = narrow.split(separator: "\n")
        #expect(lines.allSatisfy { $0.count <= 40 }, "\(narrow)")
        #expect(narrow.contains("\(ipv4[0]) (eth0)") && narrow.contains("RUNNING") && !narrow.contains("…"), "\(narrow)")
        #expect(!narrow.contains("SNAPSHOTS"), "\(narrow)")
        #expect(Set(lines.map(\.count)).count == 1, "columns do not align:\n\(narrow)")
        // A stopped container: no addresses, state.network null.
        try s.ok(["stop", "t1", "--force"])
        let stopped = try #require((try JSONSerialization.jsonObject(with: Data(try s.ok(["list", "--format", "json"]).utf8)) as? [[String: Any]])?.first)
        #expect(stopped["ipv4"] as? [String] == [] && (stopped["state"] as? [String: Any])?["network"] is NSNull)
        try s.ok(["delete", "t1"])
    }

    /// Finding 12: keys that were stored but did nothing warned, in one line, and were kept. The boot.*
    /// keys were the last of them: `sysbox autostart` and `sysbox shutdown` act on them now (issue 15),
    /// so they are set silently, and kept.
    @Test func inertKeysWarn() throws {
        let s = try Sandbox.withoutNIC()
        try s.ok(["create", "busybox", "c1"])
        let r = try s.run(["config", "set", "c1", "boot.autostart=true"])
        #expect(r.status == 0)
        #expect(r.stderr == "", "\(r.stderr)")
        #expect(try s.ok(["config", "get", "c1", "boot.autostart"]) == "true\n")
        let p = try s.run(["profile", "set", "default", "boot.stop.priority=5"])
        #expect(p.status == 0 && p.stderr == "", "\(p.stderr)")
        #expect(try s.ok(["profile", "get", "default", "boot.stop.priority"]) == "5\n")
        // A key that works says nothing.
        #expect(try s.run(["config", "set", "c1", "limits.processes=100"]).stderr == "")
        let c = try s.run(["create", "busybox", "c2", "-c", "boot.autostart.priority=3", "-c", "boot.autostart.delay=2", "-c", "boot.host_shutdown_timeout=5"])
        #expect(c.status == 0 && c.stderr == "", "\(c.stderr)")
        #expect(try s.ok(["config", "get", "c2", "boot.host_shutdown_timeout"]) == "5\n")
    }

    /// Finding 18: `-d NAME,key=value[,…]` at create and launch: a new device (root disk, a data disk)
    /// or keys of a profile's device changed; checked as `config device add` checks.
    @Test func deviceOverridesAtCreate() throws {
        let s = try Sandbox.withoutNIC()
        try s.fails(["launch", "busybox", "t5", "--no-profiles"], "no root disk")
        #expect(try s.ok(["launch", "busybox", "t5", "--no-profiles", "-d", "root,path=/"]) == "Creating t5\nStarting t5\n")
        #expect(try s.ok(["list", "t5", "--format", "csv,noheader"]).hasPrefix("t5,RUNNING,"))
        #expect(try s.ok(["config", "device", "show", "t5"]) == "root:\n  path: /\n  type: disk\n")
        try s.ok(["delete", "--force", "t5"])
        // A profile's device with keys changed, and a new disk.
        try s.ok(["create", "busybox", "c1", "-d", "root,readonly=false", "--device", "data,path=/mnt,source=\(s.root)"])
        #expect(try s.ok(["config", "device", "get", "c1", "root", "path"]) == "/\n")
        #expect(try s.ok(["config", "device", "get", "c1", "root", "readonly"]) == "false\n")
        #expect(try s.ok(["config", "device", "get", "c1", "data", "type"]) == "disk\n")
        // Refused, and nothing created.
        let before = try s.dump()
        try s.fails(["create", "busybox", "c2", "-d", "root,size=1GiB"], "device root (disk) has unknown key size")
        try s.fails(["create", "busybox", "c2", "-d", "data,path=/d,source=\(s.root)/missing"], "does not exist on this host")
        try s.fails(["create", "busybox", "c2", "-d", "eth1,network=nosuchnet"], "network nosuchnet does not exist")
        try s.fails(["create", "busybox", "c2", "-d", "root"], "give at least one key=value after the device name")
        try s.fails(["create", "busybox", "c2", "-d", "extra,readonly=true"], "a new device needs type=disk or type=nic")
        try s.fails(["create", "busybox", "c2", "-d", "root,path=/", "-d", "root,readonly=true"], "device root is given twice")
        #expect(try s.dump() == before)
    }
}
