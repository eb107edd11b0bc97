//! `cargo xtask bench`.
use anyhow::Result;
pub fn run() -> Result<()> { anyhow::bail!("not yet") }
