//! x86_64 instructions decoded by iced-x86 and written in gdb's AT&T syntax.

use iced_x86::{FlowControl, Formatter, GasFormatter};

use super::{Decoder, Flow, Instruction};

/// The x86_64 decoder.
#[derive(Debug, Clone, Copy, Default)]
pub struct X86_64;

/// A formatter set up to write what gdb (libopcodes) writes.
fn formatter() -> GasFormatter {
    let mut f = GasFormatter::new();
    let o = f.options_mut();
    o.set_uppercase_hex(false);
    o.set_hex_prefix("0x");
    o.set_hex_suffix("");
    o.set_small_hex_numbers_in_decimal(false);
    o.set_add_leading_zero_to_hex_numbers(false);
    o.set_branch_leading_zeros(false);
    o.set_displacement_leading_zeros(false);
    o.set_leading_zeros(false);
    o.set_rip_relative_addresses(true);
    o.set_space_after_operand_separator(false);
    o.set_gas_show_mnemonic_size_suffix(false);
    o.set_gas_space_after_memory_operand_comma(false);
    o.set_signed_memory_displacements(true);
    o.set_show_useless_prefixes(true);
    o.set_show_zero_displacements(true);
    f
}

thread_local! {
    static FORMATTER: std::cell::RefCell<GasFormatter> = std::cell::RefCell::new(formatter());
}

impl Decoder for X86_64 {
    fn arch(&self) -> &'static str {
        "x86_64"
    }

    fn max_len(&self) -> usize {
        15
    }

    fn decode(&self, addr: u64, code: &[u8]) -> Option<Instruction> {
        if code.is_empty() {
            return None;
        }
        let code = &code[..code.len().min(self.max_len())];
        let mut dec = iced_x86::Decoder::with_ip(64, code, addr, iced_x86::DecoderOptions::NONE);
        let insn = dec.decode();
        let len = insn.len().clamp(1, code.len());
        if insn.is_invalid() {
            return Some(Instruction {
                addr,
                bytes: code[..1].to_vec(),
                mnemonic: "(bad)".into(),
                operands: String::new(),
                target: None,
                refers_to: None,
                comment: None,
                flow: Flow::Invalid,
            });
        }
        let (mut mnemonic, mut operands) = (String::new(), String::new());
        FORMATTER.with(|f| {
            let mut f = f.borrow_mut();
            f.format_mnemonic(&insn, &mut mnemonic);
            f.format_all_operands(&insn, &mut operands);
        });
        gdb_style(&insn, code, &mut mnemonic, &mut operands);
        let flow = match insn.flow_control() {
            FlowControl::Call | FlowControl::IndirectCall => Flow::Call,
            FlowControl::UnconditionalBranch | FlowControl::IndirectBranch => Flow::Jump,
            FlowControl::ConditionalBranch => Flow::ConditionalJump,
            FlowControl::Return => Flow::Return,
            _ => Flow::Next,
        };
        let target = matches!(
            insn.flow_control(),
            FlowControl::Call | FlowControl::UnconditionalBranch | FlowControl::ConditionalBranch
        )
        .then(|| insn.near_branch_target())
        .filter(|&t| t != 0);
        let refers_to = insn
            .is_ip_rel_memory_operand()
            .then(|| insn.ip_rel_memory_address());
        Some(Instruction {
            addr,
            bytes: code[..len].to_vec(),
            mnemonic,
            operands,
            target,
            refers_to,
            comment: None,
            flow,
        })
    }
}

/// Where libopcodes writes an instruction differently from iced's GAS formatter.
fn gdb_style(
    insn: &iced_x86::Instruction,
    code: &[u8],
    mnemonic: &mut String,
    operands: &mut String,
) {
    use iced_x86::Mnemonic as M;
    let m = insn.mnemonic();
    // operand size suffixes gdb leaves out (`call *0x8(%rax)`, `push (%rdx)`)
    for (with, without) in [
        ("callq", "call"),
        ("jmpq", "jmp"),
        ("pushq", "push"),
        ("popq", "pop"),
        ("retq", "ret"),
        ("ljmpl", "ljmp"),
        ("lcalll", "lcall"),
    ] {
        if let Some(rest) = mnemonic.strip_suffix(with) {
            *mnemonic = format!("{rest}{without}");
        }
    }
    // a shift or rotate by one encodes no immediate, and gdb shows none
    if format!("{:?}", insn.code()).ends_with("_1") {
        if let Some(rest) = operands.strip_prefix("$0x1,") {
            *operands = rest.to_string();
        }
    }
    // `imul $imm,%reg,%reg` keeps its three operands
    if m == M::Imul && insn.op_count() == 3 && operands.matches(',').count() == 1 {
        if let Some(last) = operands.rsplit(',').next().map(str::to_string) {
            operands.push(',');
            operands.push_str(&last);
        }
    }
    match m {
        M::Monitor | M::Monitorx if operands.is_empty() => *operands = "%rax,%ecx,%edx".into(),
        M::Mwait | M::Mwaitx if operands.is_empty() => *operands = "%eax,%ecx".into(),
        _ => {}
    }
    match m {
        M::Iretq if mnemonic.ends_with("iret") => mnemonic.push('q'),
        M::Retf
            if (insn.code() == iced_x86::Code::Retfq
                || insn.code() == iced_x86::Code::Retfq_imm16)
                && mnemonic.ends_with("lret") =>
        {
            mnemonic.push('q');
        }
        _ => {}
    }
    // an index register always shows its scale: `(%rax,%rbx,1)`
    *operands = with_scale(operands);
    let string_op = insn.is_string_instruction();
    // the I/O port is written as a memory operand
    if matches!(
        m,
        M::In | M::Out | M::Insb | M::Insw | M::Insd | M::Outsb | M::Outsw | M::Outsd
    ) {
        *operands = operands
            .split(',')
            .map(|o| if o == "%dx" { "(%dx)" } else { o })
            .collect::<Vec<_>>()
            .join(",");
    }
    if string_op {
        // string operands with their segments
        let mut ops: Vec<String> = operands.split(',').map(str::to_string).collect();
        for o in &mut ops {
            if o == "(%rsi)" || o == "(%esi)" {
                *o = format!("%ds:{o}");
            } else if o == "(%rdi)" || o == "(%edi)" {
                *o = format!("%es:{o}");
            }
        }
        *operands = ops.join(",");
    } else {
        // in 64-bit mode a cs/ds/es/ss override is a prefix without effect: gdb names it before
        // the mnemonic
        for seg in ["cs", "ds", "es", "ss"] {
            let inline = format!("%{seg}:");
            if operands.contains(&inline) {
                *operands = operands.replacen(&inline, "", 1);
                *mnemonic = format!("{seg} {mnemonic}");
            }
        }
    }
    // operand-size prefixes beyond the first are `data16` (nop padding)
    let prefixes = code
        .iter()
        .take_while(|b| {
            matches!(
                b,
                0x26 | 0x2e | 0x36 | 0x3e | 0x64 | 0x65 | 0x66 | 0x67 | 0xf0 | 0xf2 | 0xf3
            )
        })
        .filter(|&&b| b == 0x66)
        .count();
    for _ in 1..prefixes {
        *mnemonic = format!("data16 {mnemonic}");
    }
}

/// `(%rax,%rbx)` → `(%rax,%rbx,1)`: a memory operand with an index and no scale gets `,1`.
fn with_scale(operands: &str) -> String {
    let mut out = String::with_capacity(operands.len() + 2);
    let mut rest = operands;
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')').map(|c| open + c) else {
            break;
        };
        let inner = &rest[open + 1..close];
        out.push_str(&rest[..open + 1]);
        out.push_str(inner);
        if inner.matches(',').count() == 1 {
            out.push_str(",1");
        }
        out.push(')');
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (address, bytes, gdb's text) as libopcodes (objdump 2.40, gdb) wrote them for the
    /// Debian 6.1 kernel's vmlinux: every rule of [`gdb_style`] is exercised.
    const GDB: &[(u64, &str, &str)] = &[
        (
            0xffffffff81000068,
            "0f 1f 84 00 00 00 00 00",
            "nopl   0x0(%rax,%rax,1)",
        ),
        (
            0xffffffff810009d6,
            "66 2e 0f 1f 84 00 00 00 00 00",
            "cs nopw 0x0(%rax,%rax,1)",
        ),
        (
            0xffffffff81000032,
            "66 66 2e 0f 1f 84 00 00 00 00 00",
            "data16 cs nopw 0x0(%rax,%rax,1)",
        ),
        (
            0xffffffff81002530,
            "65 ff 05 09 d6 01 7f",
            "incl   %gs:0x7f01d609(%rip)",
        ),
        (
            0xffffffff81007bc4,
            "4d 69 e4 c0 08 00 00",
            "imul   $0x8c0,%r12,%r12",
        ),
        (0xffffffff81002ea4, "48 d1 ea", "shr    %rdx"),
        (
            0xffffffff810024d6,
            "ff 15 d4 74 a3 01",
            "call   *0x1a374d4(%rip)",
        ),
        (0xffffffff8101a9dd, "ff 32", "push   (%rdx)"),
        (0xffffffff8103568a, "ec", "in     (%dx),%al"),
        (0xffffffff81020a91, "6e", "outsb  %ds:(%rsi),(%dx)"),
        (
            0xffffffff8100081b,
            "f3 48 a5",
            "rep movsq %ds:(%rsi),%es:(%rdi)",
        ),
        (0xffffffff810008a1, "a7", "cmpsl  %es:(%rdi),%ds:(%rsi)"),
        (
            0xffffffff8100792a,
            "48 c7 44 c5 00 00 00 00 00",
            "movq   $0x0,0x0(%rbp,%rax,8)",
        ),
        (
            0xffffffff810009f2,
            "65 48 8b 04 25 28 00 00 00",
            "mov    %gs:0x28,%rax",
        ),
        (0xffffffff8100115e, "66 90", "xchg   %ax,%ax"),
        (0xffffffff8103be30, "c3", "ret"),
        (0xffffffff81000b80, "48 cb", "lretq"),
        (0xffffffff81084374, "ff 68 24", "ljmp   *0x24(%rax)"),
        (0xffffffff81086d32, "0f 01 c8", "monitor %rax,%ecx,%edx"),
        (0xffffffff810aadc6, "3e 0f ae 38", "ds clflush (%rax)"),
        (
            0xffffffff81000a74,
            "48 83 e5 fd",
            "and    $0xfffffffffffffffd,%rbp",
        ),
        (
            0xffffffff81002bab,
            "41 0f b7 54 04 fe",
            "movzwl -0x2(%r12,%rax,1),%edx",
        ),
        (0xffffffff810000d1, "ff e0", "jmp    *%rax"),
        (
            0xffffffff81000007,
            "48 8d 3d f2 ff ff ff",
            "lea    -0xe(%rip),%rdi",
        ),
        (
            0xffffffff8100eed6,
            "f0 0f b1 15 ca e1 6c 02",
            "lock cmpxchg %edx,0x26ce1ca(%rip)",
        ),
        (
            0xffffffff8100008d,
            "48 b8 90 a8 95 e1 10 00 00 00",
            "movabs $0x10e195a890,%rax",
        ),
        (0xffffffff810005f0, "f3 0f 1e fa", "endbr64"),
        (0xffffffff81001bda, "cc", "int3"),
    ];

    fn bytes(hex: &str) -> Vec<u8> {
        hex.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    #[test]
    fn written_as_gdb_writes_them() {
        for &(addr, hex, want) in GDB {
            let code = bytes(hex);
            let i = X86_64.decode(addr, &code).unwrap();
            assert_eq!(i.text(), want, "{addr:x}: {hex}");
            assert_eq!(i.bytes, code, "{addr:x}: {want}");
        }
    }

    #[test]
    fn targets_and_references() {
        // call ffffffff81005770 <__sev_cpuid_hv_ghcb>, jne ffffffff81000206 <snp_cpuid+0x1b6>
        let call = X86_64
            .decode(0xffffffff8100016f, &bytes("e8 fc 55 00 00"))
            .unwrap();
        assert_eq!(call.text(), "call   0xffffffff81005770");
        assert_eq!(
            (call.target, call.flow),
            (Some(0xffffffff81005770), Flow::Call)
        );
        let jne = X86_64
            .decode(0xffffffff810000b2, &bytes("0f 85 4e 01 00 00"))
            .unwrap();
        assert_eq!(jne.target, Some(0xffffffff81000206));
        assert_eq!(jne.flow, Flow::ConditionalJump);
        // lea -0xe(%rip),%rdi        # ffffffff81000000 <startup_64>
        let lea = X86_64
            .decode(0xffffffff81000007, &bytes("48 8d 3d f2 ff ff ff"))
            .unwrap();
        assert_eq!(lea.refers_to, Some(0xffffffff81000000));
        assert_eq!(lea.target, None);
        // incl %gs:0x7f01d609(%rip)  # 1fb40: the per-CPU offset, wrapped
        let inc = X86_64
            .decode(0xffffffff81002530, &bytes("65 ff 05 09 d6 01 7f"))
            .unwrap();
        assert_eq!(inc.refers_to, Some(0x1fb40));
        let ret = X86_64.decode(0xffffffff8103be30, &[0xc3]).unwrap();
        assert_eq!(ret.flow, Flow::Return);
    }

    #[test]
    fn short_and_bad_code() {
        assert!(X86_64.decode(0x1000, &[]).is_none());
        // a call cut short by the end of what was read
        let cut = X86_64.decode(0x1000, &[0xe8, 0xfc]).unwrap();
        assert_eq!((cut.mnemonic.as_str(), cut.flow), ("(bad)", Flow::Invalid));
        assert_eq!(cut.bytes.len(), 1);
        let all = crate::disasm::decode_all(&X86_64, 0x1000, &[0x0f, 0x0b, 0xc3, 0xcc], 10);
        let texts: Vec<String> = all.iter().map(Instruction::text).collect();
        assert_eq!(texts, ["ud2", "ret", "int3"]);
    }
}
