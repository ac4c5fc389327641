//! Writes the man page and shell completions from the same clap definition as the binary.
//! `make` runs it: cargo run --example gen_docs -- OUT_DIR

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::{generate_to, Shell};
use plainsight::cli::Cli;

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/doc-gen".into()),
    );
    std::fs::create_dir_all(out.join("man"))?;
    std::fs::create_dir_all(out.join("completions"))?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd.clone(), out.join("man"))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        generate_to(
            shell,
            &mut cmd.clone(),
            "plainsight",
            out.join("completions"),
        )?;
    }
    println!(
        "man pages in {}, completions in {}",
        out.join("man").display(),
        out.join("completions").display()
    );
    Ok(())
}
