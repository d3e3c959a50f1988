//! The `zkelect` command: run a peer from a zoo.cfg, run a local demo
//! ensemble, or probe a running election port.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => cli::run::main(&args[1..]),
        Some("demo") => cli::demo::main(&args[1..]),
        Some("probe") => cli::probe::main(&args[1..]),
        Some("status") => cli::status::main(&args[1..]),
        Some("bench") => cli::bench::main(&args[1..]),
        Some("-h") | Some("--help") | Some("help") | None => {
            print!("{}", cli::USAGE);
            Ok(())
        }
        Some("-V") | Some("--version") => {
            println!("zkelect {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{}", cli::USAGE)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkelect: {e}");
            ExitCode::from(2)
        }
    }
}
