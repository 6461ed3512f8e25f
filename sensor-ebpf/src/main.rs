//! The XDP program binary. Built only for `bpfel-unknown-none` (see
//! sensor/build.rs); on the host target it is an empty binary so that a plain
//! `cargo build` of the workspace stays fast.
#![cfg_attr(target_arch = "bpf", no_std, no_main)]

#[cfg(target_arch = "bpf")]
mod parse;
#[cfg(target_arch = "bpf")]
mod program;

#[cfg(not(target_arch = "bpf"))]
fn main() {}
