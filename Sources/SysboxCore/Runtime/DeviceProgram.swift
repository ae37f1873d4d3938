import Foundation

/// The device allow-list as a cgroup2 eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE), the v2 form of v1's
/// `devices.allow` lines (`ContainerCgroup.allowedDevices`). The kernel calls it with
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`, where access_type is
/// `access << 16 | type` (type: block 1, char 2; access bits: mknod 1, read 2, write 4); it returns 1
/// to allow, 0 to deny. One block of instructions per rule, the first that matches allows.
enum DeviceProgram {
    /// One `devices.allow` line: `c 1:3 rwm`, `b *:* m` (nil major/minor: any).
    struct Rule: Equatable, Sendable {
        var type: UInt32
        var major: UInt32?
        var minor: UInt32?
        var access: UInt32

        /// Parses a v1 line; nil for anything else.
        init?(_ line: String) {
            let f = line.split(separator: " ")
            guard f.count == 3, f[0] == "c" || f[0] == "b" else { return nil }
            let nums = f[1].split(separator: ":", omittingEmptySubsequences: false)
            guard nums.count == 2 else { return nil }
            func number(_ s: Substring) -> UInt32?? { s == "*" ? .some(nil) : UInt32(s).map { .some($0) } }
            guard let major = number(nums[0]), let minor = number(nums[1]) else { return nil }
            var access: UInt32 = 0
            for ch in f[2] {
                switch ch {
                case "m": access |= 1
                case "r": access |= 2
                case "w": access |= 4
                default: return nil
                }
            }
            type = f[0] == "b" ? 1 : 2
            self.major = major
            self.minor = minor
            self.access = access
        }
    }

    /// One `struct bpf_insn`, little-endian (x86_64).
    static func insn(_ code: UInt8, dst: UInt8 = 0, src: UInt8 = 0, off: Int16 = 0, imm: Int32 = 0) -> [UInt8] {
        let o = UInt16(bitPattern: off), i = UInt32(bitPattern: imm)
        return [code, dst | (src << 4), UInt8(o & 0xff), UInt8(o >> 8), UInt8(i & 0xff), UInt8((i >> 8) & 0xff), UInt8((i >> 16) & 0xff), UInt8(i >> 24)]
    }

    // BPF_LDX|BPF_MEM|BPF_W, BPF_ALU64 AND/RSH/MOV with an immediate, MOV from a register,
    // BPF_JMP|BPF_JNE with an immediate, BPF_EXIT.
    static let loadWord: UInt8 = 0x61, andImm: UInt8 = 0x57, rshImm: UInt8 = 0x77, movImm: UInt8 = 0xb7, movReg: UInt8 = 0xbf
    static let jneImm: UInt8 = 0x55, exit: UInt8 = 0x95

    /// The program's bytes: r2 = access, r3 = type, r4 = major, r5 = minor; then per rule "type, major
    /// and minor match and the access asked is within the rule's: return 1"; else return 0.
    static func build(_ rules: [Rule]) -> [UInt8] {
        var out: [UInt8] = []
        out += insn(loadWord, dst: 2, src: 1, off: 0)  // r2 = ctx->access_type
        out += insn(movReg, dst: 3, src: 2)  // r3 = r2
        out += insn(andImm, dst: 3, imm: 0xffff)  // r3 = type
        out += insn(rshImm, dst: 2, imm: 16)  // r2 = access
        out += insn(loadWord, dst: 4, src: 1, off: 4)  // r4 = major
        out += insn(loadWord, dst: 5, src: 1, off: 8)  // r5 = minor
        for rule in rules {
            var block: [(UInt8, UInt8, UInt8, Int32)] = []  // code, dst, src, imm; jumps skip the rest
            block.append((jneImm, 3, 0, Int32(rule.type)))
            if let major = rule.major { block.append((jneImm, 4, 0, Int32(bitPattern: major))) }
            if let minor = rule.minor { block.append((jneImm, 5, 0, Int32(bitPattern: minor))) }
            block.append((movReg, 0, 2, 0))  // r0 = access
            block.append((andImm, 0, 0, Int32(bitPattern: ~rule.access)))  // bits the rule does not grant
            block.append((jneImm, 0, 0, 0))
            block.append((movImm, 0, 0, 1))
            block.append((exit, 0, 0, 0))
            for (i, b) in block.enumerated() {
                let skip = Int16(b.0 == jneImm ? block.count - i - 1 : 0)
                out += insn(b.0, dst: b.1, src: b.2, off: skip, imm: b.3)
            }
        }
        out += insn(movImm, dst: 0, imm: 0)
        out += insn(exit)
        return out
    }
}
