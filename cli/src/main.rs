//! The `tempkit` command. For now it prints its version; its subcommands come with their issue.

fn main() {
    println!("tempkit {}", env!("CARGO_PKG_VERSION"));
}
