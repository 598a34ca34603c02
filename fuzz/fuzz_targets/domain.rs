//! Domains (as JSON, the shape JSON-RPC clients send) through the parser, validator and SQL compiler.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::domain(data));
