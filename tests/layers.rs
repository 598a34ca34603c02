//! The layering stated in `src/lib.rs` holds: `scripts/check_layers.py` passes on the crate, and fails on a
//! copy of it with one import that runs back up (so the check can fail).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_layers(src: &Path) -> Output {
    Command::new("python3")
        .arg(repo().join("scripts/check_layers.py"))
        .arg(src)
        .output()
        .expect("python3 runs scripts/check_layers.py")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A copy of `src/` with `line` added to the file `file`, checked.
fn check_with(file: &str, line: &str) -> Output {
    check_with_files(&[(file, line)])
}

/// A copy of `src/` with each `(file, text)`'s text added to its file, checked.
fn check_with_files(additions: &[(&str, &str)]) -> Output {
    // Tests run in parallel: each copy gets its own directory.
    static COPIES: AtomicUsize = AtomicUsize::new(0);
    let copy = COPIES.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("bankbridge-layers-{}-{copy}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_tree(&repo().join("src"), &dir);
    for (file, line) in additions {
        let path = dir.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(line);
        std::fs::write(&path, text).unwrap();
    }
    let output = check_layers(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    output
}

#[test]
fn every_import_runs_down_the_layers() {
    let output = check_layers(&repo().join("src"));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn an_import_from_a_layer_above_fails_the_check() {
    let cases = [
        ("orm/read.rs", "\nuse crate::app::App;\n", "orm::read (layer 'orm, auth, aggregators') imports app::App"),
        (
            "db/mod.rs",
            "\nfn f() { crate::rpc::http::configure; }\n",
            "db (layer 'storage') imports rpc::http::configure",
        ),
        ("sync/store/links.rs", "\nuse crate::sandbox::{SandboxConfig, spawn};\n", "imports sandbox::SandboxConfig"),
        ("types/value.rs", "\nuse super::super::orm::Registry;\n", "imports orm::Registry"),
    ];
    check_fails(&cases);
}

/// Relative paths: a path that starts with a module the file declares, `self::`, and a file that a
/// `#[path]` declaration gives another module's place.
#[test]
fn a_relative_path_that_runs_back_up_fails_the_check() {
    let cases = [
        (
            "sync/mod.rs",
            "\nfn f() { web::callbacks::callback; }\n",
            "sync (layer 'sync') imports sync::web::callbacks::callback from the layer above it, 'wire'",
        ),
        ("sync/mod.rs", "\npub use web::configure;\n", "sync (layer 'sync') imports sync::web::configure"),
        ("sync/mod.rs", "\nuse self::web::return_page;\n", "sync (layer 'sync') imports sync::web::return_page"),
    ];
    check_fails(&cases);
    // A child module's name that a `use` rebinds (`use actix_web::web;`) is that other item.
    let output = check_with("sync/mod.rs", "\nfn f() { use actix_web::web; web::post(); }\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let output = check_with_files(&[
        ("types/mod.rs", "\n#[path = \"../rpc/fault.rs\"]\nmod borrowed;\n"),
        ("rpc/fault.rs", "\nfn f() { crate::app::App::new; }\n"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("types::borrowed (layer 'neutral') imports app::App::new"), "{stderr}");
}

fn check_fails(cases: &[(&str, &str, &str)]) {
    for &(file, line, expected) in cases {
        let output = check_with(file, line);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{file}: {stderr}");
        assert!(stderr.contains(&format!("src/{file}:")) && stderr.contains(expected), "{file}: {stderr}");
    }
}

#[test]
fn test_code_may_use_any_layer() {
    let output = check_with("orm/read.rs", "\n#[cfg(test)]\nmod tests {\n    use crate::app::App;\n}\n");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
