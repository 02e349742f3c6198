//! Prints the source location of link-time addresses in a vmlinux: `srcline VMLINUX ADDR...`.

use std::time::Instant;

use kdive_debuginfo::dwarf::SourceLines;
use kdive_debuginfo::elf_file::ElfFile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: srcline VMLINUX ADDR...")?;
    let t = Instant::now();
    let file = ElfFile::open(path.as_ref())?;
    let id = file
        .build_id()
        .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>());
    eprintln!("mapped, build-id read in {:?}", t.elapsed());
    let lines = SourceLines::new(&file)?;
    eprintln!("opened in {:?}, build-id {id:?}", t.elapsed());
    for a in args {
        let addr = u64::from_str_radix(a.trim_start_matches("0x"), 16)?;
        let t = Instant::now();
        let frames = lines.frames(addr)?;
        eprintln!("{addr:#x}: {:?}", t.elapsed());
        for f in frames {
            println!("  {f:?}");
        }
    }
    Ok(())
}
