//! Runs the Python clients (`caldav`, vdirsyncer) from the repo's venv.

use std::path::Path;
use std::process::Command;

use super::peer::tool;

/// Runs `script` (a file next to this one) with the venv's python; panics
/// with its output when it fails, so a failing client explains itself.
pub fn run_script(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/dav_world")
        .join(script);
    let output = Command::new(tool("python3"))
        .arg(&path)
        .args(args)
        .output()
        .expect("start python");
    checked(&format!("{script} {args:?}"), output)
}

/// Runs vdirsyncer with a config file, answering its questions with "y".
pub fn vdirsyncer(config: &Path, args: &[&str]) -> String {
    let output = Command::new(tool("vdirsyncer"))
        .arg("-c")
        .arg(config)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("start vdirsyncer");
    checked(&format!("vdirsyncer {args:?}"), output)
}

fn checked(what: &str, output: std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout + &stderr
}
