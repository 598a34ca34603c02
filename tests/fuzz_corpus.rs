//! Replays the fuzz targets' committed inputs (`fuzz/corpus/<target>/*`, the minimized corpus, and
//! `fuzz/regressions/<target>/*`, inputs that once crashed) through the very functions the targets run
//! (`fuzz/harness.rs`): none may panic. The fuzzing itself (`cargo fuzz run`) is in RELIABILITY.md.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            let data = std::fs::read(&path).unwrap();
            if std::panic::catch_unwind(|| run(&data)).is_err() {
                panic!("{} panics", path.display());
            }
            count += 1;
        }
    }
    count
}

#[test]
fn xmlrpc_dispatch_corpus_replays_without_panics() {
    assert!(replay("xmlrpc_dispatch", harness::xmlrpc_dispatch) > 0, "no corpus for xmlrpc_dispatch");
}

#[test]
fn domain_corpus_replays_without_panics() {
    assert!(replay("domain", harness::domain) > 0, "no corpus for domain");
}
