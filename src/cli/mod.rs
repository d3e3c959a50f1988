//! Sub-commands of the `zkelect` binary and their small shared helpers.

pub mod args;
pub mod bench;
pub mod cluster;
pub mod demo;
pub mod json;
pub mod probe;
pub mod run;
pub mod status;

/// Top-level help.
pub const USAGE: &str = "\
zkelect: ZooKeeper 3.8 leader election as a library and a command

usage:
  zkelect run --config zoo.cfg [--myid N] [--zxid Z] [--epoch E] [--log-level L]
              [--strict] [--report-lease] [--crash-before-store]
  zkelect demo [--peers N] [--tick MS | --zk-defaults] [--finalize-wait MS]
               [--rounds R] [--failovers K]
  zkelect probe HOST:PORT [--sid S] [--timeout MS]
  zkelect status --config zoo.cfg [--json] [--timeout MS]
  zkelect bench [--runs R] [--quick] [--only LIST] [--json FILE] [--idle-secs S]
  zkelect --help | --version

'zkelect COMMAND --help' describes each command.
";
