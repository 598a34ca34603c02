//! XML-RPC request bodies through the decoder and the `object` dispatcher's database-free half.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::xmlrpc_dispatch(data));
